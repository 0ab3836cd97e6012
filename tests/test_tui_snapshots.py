"""Snapshots of the key screens: the login and Accueil at 80x24 and 120x40, and in 16 colours.

Deterministic: the demo data set is fixed, the header has no clock, the countdown reads a
frozen clock (``tests.support.clock.frozen_countdown``). Update with
``pytest --snapshot-update tests/test_tui_snapshots.py`` and review.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.support.clock import frozen_countdown
from tests.support.portal import enter_portal
from tests.support.snapshots import SnapCompare
from tui.app import ExpeditoApp

SIZES = [(80, 24), (120, 40)]


async def _accueil(pilot: Pilot[None]) -> None:
    await enter_portal(pilot)  # dieter's first qualité: ENTREPRISE DEMO, Employeur ONSS


async def _login_typed(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.press(*"dieter")
    for field in pilot.app.screen.query(Input):  # the cursor shown, not caught blinking
        field.cursor_blink = False  # (on a loaded machine a pause can last half a second)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_login(snap_compare: SnapCompare, app: ExpeditoApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=_login_typed)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_accueil(snap_compare: SnapCompare, app: ExpeditoApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=_accueil)


def test_login_16_colours(snap_compare: SnapCompare, demo: object) -> None:
    app = ExpeditoApp(demo=True, ansi=True, **frozen_countdown())
    assert snap_compare(app, terminal_size=(80, 24), run_before=_login_typed)


def test_accueil_16_colours(snap_compare: SnapCompare, demo: object) -> None:
    app = ExpeditoApp(demo=True, ansi=True, **frozen_countdown())
    assert snap_compare(app, terminal_size=(80, 24), run_before=_accueil)
