"""Pilot's wait for the screen to catch up, without waking every widget (installed for the whole
test session by ``tests/conftest.py``).

Pilot waits after each key and each ``pause()`` until every widget of the screen has handled
what was queued for it, by queueing a callback on each (``Pilot._wait_for_screen``). The portal
keeps the pages built ahead hidden on its screen: some 300 widgets, most of them waiting on an
empty queue, each woken for nothing (its callback, then its idle handler) at every wait: ~40 ms
of CPU a key. Here a widget that waits on an empty queue, with no callback of its own pending,
is left alone; it has nothing to catch up with (a change that needs its idle handler, a refresh
or a style update, comes with a message: ``MessagePump.check_idle``). Every other widget, and
the app, is waited for as Pilot does.

Textual's internals are read here (pinned: textual 8.2.8); when they are not what this module
expects, the widget is waited for (the slow, safe way)."""

from __future__ import annotations

import asyncio
from typing import Any

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


def install() -> None:
    """Every Pilot of the session waits this way (``press``, ``pause``, ``click``…)."""
    Pilot._wait_for_screen = wait_for_screen  # type: ignore[method-assign,assignment]
