"""*Envois reçus* at 80x24 (Pilot, real SQLite file): the sender's received sets newest first,
their results and ACRF errors, the details on Enter, the pages, the empty state, every role;
and one snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from screens.envois import PAGE_SIZE, EnvoiDialog, EnvoisPage
from store.batches import (
    BatchError,
    BatchSetInfo,
    mark_processed,
    record_acknowledged,
    record_cancelled,
)
from store.democreds import DemoCredentials
from store.models import Sender
from tests.ops_support import new_set
from tests.support.pilot import settle
from tests.support.portal import enter_portal, open_page
from tests.support.registration import register_demo_sender
from tests.support.screen import SIZE, page_of, shown
from tests.support.snapshots import SnapCompare
from tui.app import ExpeditoApp
from tui.widgets.sidebar import Sidebar

DAY = datetime(2026, 1, 15, 9, 0)


def _register(creds: DemoCredentials) -> Sender:
    register_demo_sender(creds, now=None)
    return Sender.get()


def _acknowledged(
    sender: Sender,
    sequence: int,
    at: datetime,
    errors: tuple[BatchError, ...] = (),
    done: bool = True,
) -> BatchSetInfo:
    batch = record_acknowledged(
        new_set(sender, sequence, at), errors, "T", at.date(), int(sender.number)
    )
    if done:
        mark_processed(batch.id, at + timedelta(seconds=5))
    return batch


def _three_sets(sender: Sender) -> tuple[BatchSetInfo, BatchSetInfo, BatchSetInfo]:
    """Accepted at 9:00, rejected (two errors) at 10:00, cancelled at 11:00."""
    accepted = _acknowledged(sender, 1, DAY)
    stem = f"DMFA.{int(sender.number):06d}.20260115.00002.T"
    rejected = _acknowledged(
        sender,
        2,
        DAY + timedelta(hours=1),
        (BatchError("ACRF-125", f"FI.{stem}.1.1"), BatchError("ACRF-120", f"FI.{stem}.1.1")),
    )
    cancelled = record_cancelled(
        new_set(sender, 3, DAY + timedelta(hours=2)), DAY + timedelta(hours=2)
    )
    return accepted, rejected, cancelled


def _rows(pilot: Pilot[None]) -> list[list[str]]:
    table = envois_page(pilot).query_one("#envois", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def envois_page(pilot: Pilot[None]) -> EnvoisPage:
    page = page_of(pilot)
    assert isinstance(page, EnvoisPage)
    return page


async def test_sets_newest_first_with_results_errors_and_details(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    sender = _register(demo_credentials)
    _, rejected, _ = _three_sets(sender)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        assert "envois" in app.screen.query_one(Sidebar).pages
        await open_page(pilot, "envois")
        rows = _rows(pilot)
        assert [row[0] for row in rows] == ["15/01 11:00", "15/01 10:00", "15/01 09:00"]
        assert [row[1] for row in rows] == ["DMFA 00003 T", "DMFA 00002 T", "DMFA 00001 T"]
        assert [row[2] for row in rows] == ["Annulé", "Refusé", "Accepté"]
        assert [row[3] for row in rows] == ["-", "125 +1", "-"]  # all of them: in the details
        assert all(len(row) == 4 for row in rows)  # the ticket too
        assert shown(pilot, "#envois-count") == "Envois 1 à 3"

        table = envois_page(pilot).query_one("#envois", DataTable)
        table.focus()
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, EnvoiDialog)
        details = shown(pilot, "#envoi-details")
        assert rejected.go_name in details
        assert f"Ticket : {rejected.ticket}" in details
        assert f"Accusé de réception : {rejected.ack_name}" in details
        assert "Résultat : Refusé" in details
        assert f"{rejected.files[0].name}  (1\u202f234 octets)" in details
        assert "Erreurs (2) :" in details and "ACRF-120" in details
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(page_of(pilot), EnvoisPage)

        await pilot.press("f2")  # nl: the page is built again
        await settle(pilot)
        assert [row[2] for row in _rows(pilot)] == ["Geannuleerd", "Geweigerd", "Aanvaard"]


async def test_the_table_needs_no_sideways_scrolling_at_80_columns(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    sender = _register(demo_credentials)
    _three_sets(sender)
    _acknowledged(sender, 4, DAY + timedelta(hours=3), done=False)  # the longest result words
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        for lang in ("fr", "nl", "de", "en"):
            await open_page(pilot, "envois")
            assert app.lang == lang
            table = envois_page(pilot).query_one("#envois", DataTable)
            assert table.row_count == 4
            assert table.max_scroll_x == 0, (lang, table.virtual_size, table.size)
            assert app.screen.query_one("#page-area").max_scroll_x == 0
            await pilot.press("f2")
            await settle(pilot)


async def test_a_utilisateur_sees_them_and_pending_sets_are_en_cours(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    sender = _register(demo_credentials)
    _acknowledged(sender, 1, DAY)
    _acknowledged(sender, 2, DAY + timedelta(minutes=1), done=False)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "ursula")
        assert "envois" in app.screen.query_one(Sidebar).pages
        await open_page(pilot, "envois")
        assert [row[2] for row in _rows(pilot)] == ["En cours", "Accepté"]
        # Shown again after a new set arrived: reloaded.
        await app.open_page("accueil")
        await settle(pilot)
        _acknowledged(sender, 3, DAY + timedelta(minutes=2), (BatchError("ACRF-133", "GO.x"),))
        await open_page(pilot, "envois")
        assert [row[2] for row in _rows(pilot)] == ["Refusé", "En cours", "Accepté"]
        # F6 reloads too.
        _acknowledged(sender, 4, DAY + timedelta(minutes=3))
        envois_page(pilot).query_one("#envois").focus()
        await pilot.press("f6")
        await settle(pilot)
        assert len(_rows(pilot)) == 4


async def test_pages_of_sets(app: ExpeditoApp, demo_credentials: DemoCredentials) -> None:
    sender = _register(demo_credentials)
    for i in range(PAGE_SIZE + 2):
        _acknowledged(sender, i + 1, DAY + timedelta(minutes=i))
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        await open_page(pilot, "envois")
        page = envois_page(pilot)
        assert len(_rows(pilot)) == PAGE_SIZE
        assert _rows(pilot)[0][1] == f"DMFA {PAGE_SIZE + 2:05d} T"
        assert page.check_action("next_page", ()) is True
        assert page.check_action("previous_page", ()) is None  # shown, greyed
        page.query_one("#envois").focus()
        await pilot.press("pagedown")
        await settle(pilot)
        assert [row[1] for row in _rows(pilot)] == ["DMFA 00002 T", "DMFA 00001 T"]
        assert shown(pilot, "#envois-count") == f"Envois {PAGE_SIZE + 1} à {PAGE_SIZE + 2}"
        assert page.check_action("next_page", ()) is None
        await pilot.press("pageup")
        await settle(pilot)
        assert len(_rows(pilot)) == PAGE_SIZE and page.start == 0


async def test_empty_state_and_no_page_keys(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    _register(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "colette")
        await open_page(pilot, "envois")
        page = envois_page(pilot)
        assert shown(pilot, "#envois-empty") == (
            "Aucun envoi n'a encore été reçu de votre expéditeur."
        )
        assert not page.query_one("#envois").display
        assert page.check_action("next_page", ()) is False  # one page: no PageDown shown


async def test_no_menu_item_without_a_sender(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot, "dieter")
        assert "envois" not in app.screen.query_one(Sidebar).pages


def test_snapshot(
    snap_compare: SnapCompare, app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    sender = _register(demo_credentials)
    _three_sets(sender)

    async def run_before(pilot: Pilot[Any]) -> None:
        await enter_portal(pilot, "dieter", "envois")
        pilot.app.screen.query_one("#envois").focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_detail_dialog_snapshot(
    snap_compare: SnapCompare, app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    _three_sets(_register(demo_credentials))

    async def run_before(pilot: Pilot[Any]) -> None:
        await enter_portal(pilot, "dieter", "envois")
        pilot.app.screen.query_one("#envois").focus()
        await pilot.press("down", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
