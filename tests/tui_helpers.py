"""Pilot helpers: log in, read what a widget shows."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled

from sync.schedule import FakeClock, Schedule

BXL = ZoneInfo("Europe/Brussels")
FROZEN = datetime(2026, 1, 15, 14, 17, 26, tzinfo=BXL)


def frozen_countdown(moment: datetime = FROZEN) -> dict[str, Any]:
    """App arguments for a countdown that stands still (``Prochaine synchronisation à
    14:30 — dans 12:34``) until the test moves ``clock``."""
    return {"clock": FakeClock(moment, BXL), "schedule": Schedule(30, BXL)}


async def _workers_done(app: App[None]) -> None:
    """Every worker finished; one cancelled by a newer one (``exclusive``) is not an error."""
    for worker in list(app.workers):
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and the screen catch up (no sleeping)."""
    await _workers_done(pilot.app)
    await pilot.pause()
    await _workers_done(pilot.app)
    await pilot.pause()


async def log_in(pilot: Pilot[None], login: str, password: str = "demo") -> None:
    await pilot.press(*login, "enter", *password, "enter")
    await settle(pilot)


def text_of(app: App[None], selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render())


def screen_text(app: App[None]) -> str:
    """Every Static's text on the current screen (wrapping aside)."""
    return "\n".join(str(w.render()) for w in app.screen.query(Static))
