"""Focus always visible, and only where it is, in 256 colours, 16 colours (the ANSI theme that
``TEXTUAL_COLOR_SYSTEM=standard`` selects) and with ``NO_COLOR`` (issue 18): a focused list,
table, drop-down or button differs from an unfocused one by reverse video or an underline,
not by a shade; empty fields are drawn. Snapshots at 80x24 in each mode, and the styles
checked by name."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select

from tests.support.clock import frozen_countdown
from tests.support.pilot import settle
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.screen import SIZE
from tests.support.snapshots import SnapCompare
from tui.app import ExpeditoApp
from tui.widgets.sidebar import MenuList

MODES = ["256", "16", "nocolor"]


def _app(mode: str, monkeypatch: pytest.MonkeyPatch) -> ExpeditoApp:
    if mode == "nocolor":
        monkeypatch.setenv("NO_COLOR", "1")  # read (and removed) by the app when built
    return ExpeditoApp(demo=True, ansi=mode == "16", **frozen_countdown())


def _marks(style: Style) -> tuple[bool, bool]:
    """What shows without colour: reverse video, underline."""
    return bool(style.reverse), bool(style.underline)


@pytest.mark.parametrize("mode", MODES)
async def test_focus_differs_by_more_than_a_shade(
    demo: object, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(mode, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        menu = app.screen.query_one(MenuList)
        focused = menu.get_component_rich_style("option-list--option-highlighted")
        await choose_in_menu(pilot, "utilisateurs")
        await pilot.press("tab")  # into the table
        await settle(pilot)
        table = app.screen.query_one("#users", DataTable)
        assert app.focused is table
        blurred = menu.get_component_rich_style("option-list--option-highlighted")
        assert _marks(blurred) == (False, True) and not _marks(focused)[1]
        cursor_focused = table.get_component_rich_style("datatable--cursor")
        table.blur()
        await settle(pilot)
        cursor_blurred = table.get_component_rich_style("datatable--cursor")
        assert _marks(cursor_focused) == (True, False)
        assert _marks(cursor_blurred) == (False, True)
        await choose_in_menu(pilot, "donnees_personnelles")
        select = app.screen.query_one("#title", Select)
        current = select.query_one("SelectCurrent")
        blurred_select = current.rich_style
        select.focus()
        await settle(pilot)
        assert _marks(current.rich_style) == (True, False)
        assert _marks(blurred_select) == (False, True)
        await choose_in_menu(pilot, "routing_informations")  # a page of text
        page = app.screen.query_one("#page-routing_informations")
        assert page.styles.outline_left[0] in ("", "none")
        await pilot.press("tab")  # the page area takes the keyboard: a bar at its left
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "page-area"
        assert page.styles.outline_left[0] == "tall"
        if mode != "256":  # drawn fields, and a button filled only when it has the keyboard
            field = app.screen.query_one("#phone", Input)
            assert field.rich_style.underline
            await choose_in_menu(pilot, "messages")
            button = app.screen.query_one("#open-enregistrement", Button)
            assert not button.rich_style.reverse
            button.focus()
            await settle(pilot)
            assert button.rich_style.reverse


async def _messages_from_the_sidebar(pilot: Pilot[None]) -> None:
    await enter_portal(pilot)
    await choose_in_menu(pilot, "messages")  # the keyboard stays in the sidebar


async def _password_field(pilot: Pilot[None]) -> None:
    await enter_portal(pilot)
    await choose_in_menu(pilot, "mot_de_passe")
    await pilot.press("tab")  # the first field; the two others empty
    await settle(pilot)
    assert isinstance(pilot.app.focused, Input), pilot.app.focused
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # the cursor always shown: the snapshot does not depend on
    await pilot.pause()  # when it was taken


@pytest.mark.parametrize("mode", MODES)
def test_messages_with_the_keyboard_in_the_sidebar(
    snap_compare: SnapCompare, demo: object, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The button is not drawn as focused while the sidebar has the keyboard."""
    assert snap_compare(
        _app(mode, monkeypatch), terminal_size=SIZE, run_before=_messages_from_the_sidebar
    )


@pytest.mark.parametrize("mode", MODES)
def test_empty_fields_are_drawn(
    snap_compare: SnapCompare, demo: object, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert snap_compare(_app(mode, monkeypatch), terminal_size=SIZE, run_before=_password_field)
