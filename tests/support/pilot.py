"""Driving the app under Pilot: waiting until it has caught up (never sleeping), and typing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled, WorkerFailed

from tests.support.screen import scope


async def _workers_done(app: App[None]) -> None:
    """Every worker finished; one cancelled by a newer one (``exclusive``) is not an error.
    A DirectoryTree's ``_loader`` runs as long as the tree is on screen (the file browser,
    which F6 opens from anywhere on *Certificat personnel*): not waited for, or a test that
    left the browser open would wait for ever."""
    for worker in list(app.workers):
        if worker.group == "_loader":
            continue
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()


async def _page_settled(app: App[None], timeout: float = 5.0) -> None:
    """The page on show has run what waited for it to stay (``Page.when_settled``: its reload
    and session check, ``SETTLE`` seconds after it was shown: the tests make that short)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pages = [getattr(screen, "page", None) for screen in app.screen_stack]
        if not any(page is not None and page._settling for page in pages):
            return
        await asyncio.sleep(0.01)


async def settle(pilot: Pilot[None]) -> None:
    """Let the page on show settle, workers finish and the screen catch up."""
    await _page_settled(pilot.app)
    await _workers_done(pilot.app)
    await pilot.pause()
    await _workers_done(pilot.app)
    await pilot.pause()


async def settle_until(
    pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 15.0
) -> None:
    """``settle`` until ``condition()`` holds, at most ``timeout`` seconds: for work started
    by a key whose handler runs later (``call_later``), which a single ``settle`` can look
    for before it exists on a loaded machine. The caller asserts afterwards."""
    deadline = time.monotonic() + timeout
    await settle(pilot)
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.02)
        await settle(pilot)


async def settle_tree(pilot: Pilot[None], rounds: int = 3) -> None:
    """Like ``settle``, with a DirectoryTree on screen: its ``_loader`` worker runs as long as
    the tree does, so wait for every other worker (the folder loads among them)."""
    for _ in range(rounds):
        for worker in list(pilot.app.workers):
            if worker.group == "_loader":
                continue
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        await pilot.pause()


async def type_in(pilot: Pilot[None], text: str, paste: bool = False) -> None:
    """Type ``text`` into the focused widget key by key, or (``paste``, faster) insert it into
    the focused Input at once."""
    if not paste:
        await pilot.press(*text)
        return
    focused = pilot.app.focused
    assert isinstance(focused, Input), focused
    focused.insert_text_at_cursor(text)
    await pilot.pause()


async def fill(pilot: Pilot[None], field: str, value: str) -> None:
    """Focus the Input ``#field`` (of the page on show or the dialog) and replace its value
    (typing key by key is ``type_in``'s job)."""
    widget = scope(pilot).query_one(f"#{field}", Input)
    widget.focus()
    await pilot.pause()
    widget.value = value
    await pilot.pause()
