"""Pilot helpers: log in, read what a widget shows."""

from __future__ import annotations

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and the screen catch up (no sleeping)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
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
