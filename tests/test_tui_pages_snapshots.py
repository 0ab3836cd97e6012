"""Snapshots (80x24) of the Gestion Qualité, Routing Module and Données personnelles pages, on
the demo data set; the certificate is made with a fixed serial and fixed dates.

Update after a deliberate change with ``pytest tests/test_tui_pages_snapshots.py
--snapshot-update`` and look at the SVGs before committing them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input

from store.personal import register_personal_certificate
from tests.support.credentials import fixed_certificate
from tests.support.pilot import settle
from tests.support.portal import enter_portal
from tests.support.registration import person_id
from tests.support.screen import SIZE
from tests.support.snapshots import SnapCompare
from tui.app import ExpeditoApp

PAGES = (
    "utilisateurs",
    "detail_qualite",
    "recherche_utilisateurs",
    "routing_informations",
    "routing_module",
    "donnees_personnelles",
    "mot_de_passe",
    "certificat",
)


def _opening(login: str, page: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await enter_portal(pilot, login, page)

    return run_before


@pytest.mark.parametrize("page", PAGES)
def test_page_as_gestionnaire(snap_compare: SnapCompare, app: ExpeditoApp, page: str) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=_opening("dieter", page))


@pytest.mark.parametrize("page", ("utilisateurs", "detail_qualite", "routing_module"))
def test_page_read_only_for_a_utilisateur(
    snap_compare: SnapCompare, app: ExpeditoApp, page: str
) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=_opening("ursula", page))


def test_registered_certificate(
    snap_compare: SnapCompare, app: ExpeditoApp, tmp_path: Path
) -> None:
    register_personal_certificate(person_id("colette"), fixed_certificate(tmp_path).read_bytes())
    assert snap_compare(app, terminal_size=SIZE, run_before=_opening("colette", "certificat"))


def test_give_access_dialog(snap_compare: SnapCompare, app: ExpeditoApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await enter_portal(pilot, "dieter", "utilisateurs")
        pilot.app.screen.query_one("#users").focus()
        await pilot.press("a")
        await settle(pilot)
        pilot.app.screen.query_one("#new").focus()
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_personal_data_errors(snap_compare: SnapCompare, app: ExpeditoApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await enter_portal(pilot, "ursula", "donnees_personnelles")
        screen = pilot.app.screen
        screen.query_one("#first_name", Input).value = ""
        screen.query_one("#phone", Input).value = "12"
        screen.query_one("#save", Button).press()
        await settle(pilot)
        screen.query_one("#menu").focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
