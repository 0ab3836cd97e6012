"""Pilot's waits, cheaper (installed for the whole test session by ``tests/conftest.py``).

The screen catching up, without waking every widget:

Pilot waits after each key and each ``pause()`` until every widget of the screen has handled
what was queued for it, by queueing a callback on each (``Pilot._wait_for_screen``). The portal
keeps the pages built ahead hidden on its screen: some 300 widgets, most of them waiting on an
empty queue, each woken for nothing (its callback, then its idle handler) at every wait: ~40 ms
of CPU a key. Here a widget that waits on an empty queue, with no callback of its own pending,
is left alone; it has nothing to catch up with (a change that needs its idle handler, a refresh
or a style update, comes with a message: ``MessagePump.check_idle``). Every other widget, and
the app, is waited for as Pilot does.

A key pressed: Pilot sends it, waits until the process is idle (``wait_for_idle``: 20 ms
without work, at least), waits for animations, then waits until idle again — 20 ms more a key
when no animation ran, after the app was found idle already. Here the second wait is made only
when an animation was running or scheduled.

Textual's internals are read here (pinned: textual 8.2.8); when they are not what this module
expects, the widget is waited for (the slow, safe way)."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterable
from typing import Any

from textual import events
from textual._wait import wait_for_idle
from textual.app import App
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.message_pump import MessagePump
from textual.pilot import Pilot, WaitForScreenTimeout


def _waits_on_an_empty_queue(pump: MessagePump) -> bool:
    """The pump's task is parked on its empty message queue, no callback pending."""
    try:
        task: Any = pump._task
        queue: Any = pump._message_queue
        if task is None or task.done() or queue.values or pump._next_callbacks:
            return False
        waiter = task._fut_waiter  # the future the task awaits (asyncio's)
        return waiter is not None and waiter in queue.ready_event._waiters
    except AttributeError:
        return False


async def wait_for_screen(self: Pilot[object], timeout: float = 30.0) -> bool:
    """``Pilot._wait_for_screen`` (same contract: True when everything queued was handled,
    ``WaitForScreenTimeout`` after ``timeout``), skipping the widgets with nothing queued."""
    try:
        screen = self.app.screen
    except Exception:
        return False
    pumps: list[MessagePump] = [
        self.app,
        *(w for w in screen.walk_children(with_self=True) if not _waits_on_an_empty_queue(w)),
    ]
    count = 0
    count_zero_event = asyncio.Event()

    def decrement_counter() -> None:
        nonlocal count
        count -= 1
        if count == 0:
            count_zero_event.set()

    for pump in pumps:
        if pump.call_later(decrement_counter):
            count += 1
    if count:
        wait_for = [
            asyncio.create_task(count_zero_event.wait()),
            asyncio.create_task(self.app._exception_event.wait()),
        ]
        _, pending = await asyncio.wait(
            wait_for, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if len(wait_for) == len(pending):
            raise WaitForScreenTimeout(
                "Timed out while waiting for widgets to process pending messages."
            )
        if count > 0:
            return False
    return True


def _animating(app: App[object]) -> bool:
    animator: Any = app._animator
    try:
        return bool(animator._animations or animator._scheduled)
    except AttributeError:
        return True


async def press_keys(self: App[object], keys: Iterable[str]) -> None:
    """``App._press_keys`` (what ``Pilot.press`` runs), waiting once for idle after a key
    when no animation runs (Textual's, otherwise: idle, animations done, idle)."""
    driver = self._driver
    assert driver is not None
    for key in keys:
        if key.startswith("wait:"):
            _, wait_ms = key.split(":")
            await asyncio.sleep(float(wait_ms) / 1000)
            await self._animator.wait_until_complete()
            continue
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        original_key = REPLACED_KEYS.get(key, key)
        char: str | None
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(original_key))
        except KeyError:
            char = key if len(key) == 1 else None
        key_event = events.Key(key, char)
        key_event.set_sender(self)
        driver.send_message(key_event)
        await wait_for_idle(0)
        if _animating(self):
            await self._animator.wait_until_complete()
            await wait_for_idle(0)


def install() -> None:
    """Every Pilot of the session waits this way (``press``, ``pause``, ``click``…)."""
    Pilot._wait_for_screen = wait_for_screen  # type: ignore[method-assign,assignment]
    App._press_keys = press_keys  # type: ignore[method-assign,assignment]
