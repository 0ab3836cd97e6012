"""Reading what the app shows: a widget's text, a form field's value or error, the page on
show, the whole screen."""

from __future__ import annotations

from typing import TypeVar

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Static

from screens.base import Page
from screens.forms import FieldRow
from tui.shell import PortalScreen

SIZE = (80, 24)
"""The terminal the app is designed for, and most tests run in."""

W = TypeVar("W", bound=Widget)


def page_of(pilot: Pilot[None]) -> Page:
    """The page on show (the shell keeps the others, hidden, with the same widget ids)."""
    screen = pilot.app.screen
    assert isinstance(screen, PortalScreen), screen
    page = screen.page
    assert page is not None
    return page


def scope(pilot: Pilot[None]) -> Widget:
    """Where the user looks: the page on show, or the screen on top of the portal (a dialog,
    the login screen)."""
    return page_of(pilot) if isinstance(pilot.app.screen, PortalScreen) else pilot.app.screen


def find(pilot: Pilot[None], selector: str, kind: type[W]) -> W:
    """The widget ``selector`` names where the user looks (``scope``), else anywhere on the
    screen (the header, the sidebar)."""
    matches = scope(pilot).query(selector)
    return matches.first(kind) if matches else pilot.app.screen.query_one(selector, kind)


def shown(pilot: Pilot[None], selector: str) -> str:
    """The text of the Static ``selector`` (see ``find``)."""
    return str(find(pilot, selector, Static).render())


def value_of(pilot: Pilot[None], selector: str) -> str:
    """What the Input ``selector`` holds (see ``find``)."""
    return find(pilot, selector, Input).value


def error_of(pilot: Pilot[None], field: str) -> str:
    """The error shown under a form field ('' when none): a page's or dialog's ``FieldRow``
    ``#row-{field}``, else the wizard's line ``#{field}-error``."""
    rows = scope(pilot).query(f"#row-{field}")
    return rows.first(FieldRow).error if rows else shown(pilot, f"#{field}-error")


def page_text(pilot: Pilot[None]) -> str:
    """Every Static on show in the page area, wrapping aside."""
    area = pilot.app.screen.query_one("#page-area")
    return "\n".join(str(w.render()) for w in area.query(Static) if w.display)


def screen_text(pilot: Pilot[None]) -> str:
    """Every Static's text on the current screen, hidden pages' too (wrapping aside)."""
    return "\n".join(str(w.render()) for w in pilot.app.screen.query(Static))
