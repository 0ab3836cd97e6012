"""Pilot helpers for the wizard and the Messages structurés pages: keys only."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from screens.qualite_choice import QualiteChoiceScreen
from tests.tui_helpers import log_in, settle
from tui.shell import PortalScreen

SIZE = (80, 24)


async def enter_portal(pilot: Pilot[None], login: str = "dieter") -> None:
    """Log in and, for dieter, choose the first qualité (ENTREPRISE DEMO)."""
    await pilot.pause()
    await log_in(pilot, login)
    if isinstance(pilot.app.screen, QualiteChoiceScreen):
        await pilot.press("enter")
        await settle(pilot)
    assert isinstance(pilot.app.screen, PortalScreen)


async def choose_in_menu(pilot: Pilot[None], page_id: str) -> None:
    """Move down the sidebar *Fonctionnalités* with the arrows to ``page_id``, then Enter."""
    menu = pilot.app.screen.query_one("#menu", OptionList)
    menu.focus()
    await pilot.press("home")
    for _ in range(menu.option_count):
        highlighted = menu.highlighted
        if highlighted is not None and menu.get_option_at_index(highlighted).id == page_id:
            break
        await pilot.press("down")
    else:  # pragma: no cover - a failing test says which page was missing
        raise AssertionError(f"{page_id} is not in the menu")
    await pilot.press("enter")
    await settle(pilot)


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text)


async def put(pilot: Pilot[None], text: str, typed: bool) -> None:
    """Type ``text`` in the focused Input key by key, or (faster) paste it in at once."""
    if typed:
        await type_text(pilot, text)
        return
    focused = pilot.app.focused
    assert isinstance(focused, Input), focused
    focused.insert_text_at_cursor(text)
    await pilot.pause()


async def fill_contact(pilot: Pilot[None], *, last: str = "Expéditeur", first: str = "Didier",
                       function: str = "IT", phone: str = "025455078",
                       email: str = "batch@eranova.fgov.be", typed: bool = False) -> None:
    """Focus is on Nom: fill each field, Tab between them (Titre and Régime keep Mr/Français)."""
    for value, tabs in ((last, 1), (first, 2), (function, 2), (phone, 3), (email, 0)):
        await put(pilot, value, typed)
        if tabs:
            await pilot.press(*["tab"] * tabs)


async def load_channel(pilot: Pilot[None], key: Path | str | None, cert: Path | str | None,
                       downs: tuple[int, ...] = (0, 3), typed: bool = False) -> None:
    """Focus is on the key's path: give the paths (Enter loads), tick applications by index."""
    if key is not None:
        await put(pilot, str(key), typed)
        await pilot.press("enter")
        await settle(pilot)
    await pilot.press("tab", "tab")
    if cert is not None:
        await put(pilot, str(cert), typed)
        await pilot.press("enter")
        await settle(pilot)
    await pilot.press("tab", "tab")
    position = 0
    for index in downs:
        await pilot.press(*["down"] * (index - position), "space")
        position = index


def value_of(pilot: Pilot[None], selector: str) -> str:
    return pilot.app.screen.query_one(selector, Input).value


def shown(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


def page_text(pilot: Pilot[None]) -> str:
    """Every Static of the page area, wrapping aside."""
    area = pilot.app.screen.query_one("#page-area")
    return "\n".join(str(w.render()) for w in area.query(Static) if w.display)


async def tab_into_page(pilot: Pilot[None]) -> None:
    """Tab from the sidebar until the focus is inside the page (its first field or button)."""
    from screens.base import Page

    for _ in range(4):
        focused = pilot.app.focused
        if focused is not None and any(isinstance(a, Page) for a in focused.ancestors):
            return
        await pilot.press("tab")
    raise AssertionError(f"focus never reached the page: {pilot.app.focused}")
