"""Helpers for the portal pages' Pilot and snapshot tests: log in, open a page, read it."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled, WorkerFailed

from screens.base import Page
from screens.forms import FieldRow
from store.democreds import DEMO_SERIAL, citizen_ca_name, make_test_certificate
from tests.tui_helpers import log_in, settle
from tui.app import ExpeditoApp
from tui.shell import PortalScreen

SIZE = (80, 24)


async def open_portal(pilot: Pilot[None], login: str, page: str | None = None) -> None:
    """Log in (dieter takes his first qualité, ENTREPRISE DEMO) and open ``page``."""
    await pilot.pause()
    await log_in(pilot, login)
    if login == "dieter":
        await pilot.press("enter")
        await settle(pilot)
    if page is not None:
        await open_page(pilot, page)


async def open_page(pilot: Pilot[None], page: str) -> None:
    app = pilot.app
    assert isinstance(app, ExpeditoApp)
    await app.open_page(page)
    await settle(pilot)


def page_of(pilot: Pilot[None]) -> Page:
    """The page on show (the shell keeps the others, hidden)."""
    page = getattr(pilot.app.screen, "page", None)
    assert isinstance(page, Page)
    return page


def _scope(pilot: Pilot[None]) -> Widget:
    """Where a form is: the page on show, or the dialog on top of the portal."""
    return page_of(pilot) if isinstance(pilot.app.screen, PortalScreen) else pilot.app.screen


def error_of(pilot: Pilot[None], field: str) -> str:
    """The error shown next to a form field ('' when none)."""
    return _scope(pilot).query_one(f"#row-{field}", FieldRow).error


def shown(pilot: Pilot[None], selector: str) -> str:
    """The text of a Static: on the page on show, else anywhere on the screen (the header)."""
    matches = _scope(pilot).query(selector)
    widget = matches.first(Static) if matches else pilot.app.screen.query_one(selector, Static)
    return str(widget.render())


async def fill(pilot: Pilot[None], field: str, value: str) -> None:
    """Focus an Input and replace its value (typing key by key is the search tests' job)."""
    widget = _scope(pilot).query_one(f"#{field}", Input)
    widget.focus()
    await pilot.pause()
    widget.value = value
    await pilot.pause()


def fixed_certificate(directory: Path, name: str = "signature.cer",
                      not_after: datetime = datetime(2040, 3, 26, 12, 0, tzinfo=UTC)) -> Path:
    """A signature certificate with fixed serial and dates (DER), issued by "Citizen CA"."""
    cert, _ = make_test_certificate(issuer=citizen_ca_name(), serial=DEMO_SERIAL,
                                    not_before=datetime(2025, 1, 1, tzinfo=UTC),
                                    not_after=not_after)
    path = directory / name
    path.write_bytes(cert.public_bytes(Encoding.DER))
    return path


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
