"""Getting into the portal and moving in it by keys: log in, choose the qualité, open a page
from the sidebar or directly, Tab into the page."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import OptionList

from screens.base import Page
from screens.qualite_choice import QualiteChoiceScreen
from tests.support.pilot import settle
from tui.app import ExpeditoApp
from tui.shell import PortalScreen


async def log_in(pilot: Pilot[None], login: str, password: str = "demo") -> None:
    """Type the login, Enter, the password, Enter (the login screen has the keyboard)."""
    await pilot.press(*login, "enter", *password, "enter")
    await settle(pilot)


async def enter_portal(
    pilot: Pilot[None], login: str = "dieter", page: str | None = None
) -> PortalScreen:
    """Log in and, when asked (dieter has two), choose the first qualité (ENTREPRISE DEMO);
    then open ``page`` if given."""
    await pilot.pause()
    await log_in(pilot, login)
    if isinstance(pilot.app.screen, QualiteChoiceScreen):
        await pilot.press("enter")
        await settle(pilot)
    portal = pilot.app.screen
    assert isinstance(portal, PortalScreen), portal
    if page is not None:
        await open_page(pilot, page)
    return portal


async def open_page(pilot: Pilot[None], page: str) -> None:
    """Open ``page`` as the command palette does (any page the user may see)."""
    app = pilot.app
    assert isinstance(app, ExpeditoApp)
    await app.open_page(page)
    await settle(pilot)


async def choose_in_menu(pilot: Pilot[None], page_id: str, from_top: bool = True) -> None:
    """Move with the arrows down the sidebar *Fonctionnalités* to ``page_id``, then Enter.

    ``from_top``: give the menu the keyboard and start from its first item (Home); otherwise
    the menu must have the keyboard already, and the arrows go on from the item highlighted
    (wrapping round at the end)."""
    menu = pilot.app.screen.query_one("#menu", OptionList)
    if from_top:
        menu.focus()
        await pilot.press("home")
    else:
        assert pilot.app.focused is menu, pilot.app.focused
    for _ in range(2 * menu.option_count):
        highlighted = menu.highlighted
        if highlighted is not None and menu.get_option_at_index(highlighted).id == page_id:
            break
        await pilot.press("down")
    else:  # pragma: no cover - a failing test says which page was missing
        raise AssertionError(f"{page_id} is not in the menu")
    await pilot.press("enter")
    await settle(pilot)


async def tab_into_page(pilot: Pilot[None]) -> None:
    """Tab from the sidebar until the focus is inside the page (its first field or button)."""
    for _ in range(4):
        focused = pilot.app.focused
        if focused is not None and any(isinstance(a, Page) for a in focused.ancestors):
            return
        await pilot.press("tab")
    raise AssertionError(f"focus never reached the page: {pilot.app.focused}")
