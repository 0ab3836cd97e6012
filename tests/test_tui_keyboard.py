"""The operator's keyboard at 80x24: no crash, no dead end, nothing lost (issue 18)."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from screens.base import Page
from store.democreds import DemoCredentials
from tests.support.pilot import settle, settle_until
from tests.support.portal import choose_in_menu, enter_portal, tab_into_page
from tests.support.registration import register_demo_sender
from tests.support.screen import SIZE, screen_text
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.sidebar import MenuList, Sidebar


def _notices(app: ExpeditoApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_pagedown_with_the_sidebar_hidden_after_its_items_changed(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    """F4 hides the sidebar, a sender is created (the sidebar gets new items while hidden),
    Escape, then PageDown/PageUp: the app goes on (it ended with KeyError in OptionList)."""
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        before = portal.query_one(Sidebar).pages
        await pilot.press("f4")
        await settle(pilot)
        register_demo_sender(demo_credentials)
        assert portal.page is not None
        portal.page.sender_changed()
        await settle(pilot)
        assert portal.query_one(Sidebar).pages != before  # the items changed, hidden
        await pilot.press("escape")
        await settle(pilot)
        # The hidden list does not take the keyboard: keys go where the operator can see.
        assert not isinstance(app.focused, OptionList)
        await pilot.press("pagedown", "pageup", "pagedown", "end", "home")
        # Even were the hidden list focused, paging does not fail.
        portal.query_one(MenuList).focus()
        await pilot.press("pagedown", "pagedown", "pageup", "pageup")
        await settle(pilot)
        assert app.is_running and not app.unexpected_errors
        await pilot.press("f4")  # shown again: the list works and PageDown lands on a page
        await settle(pilot)
        menu = portal.query_one(MenuList)
        assert app.focused is menu
        await pilot.press("home", "pagedown")
        highlighted = menu.highlighted
        assert highlighted is not None and highlighted > 0
        assert not menu.get_option_at_index(highlighted).disabled


async def test_an_unexpected_exception_in_a_key_keeps_the_session(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key whose action raises: one line says so, the app and the session go on."""

    def broken(self: MenuList, direction: int) -> None:
        raise RuntimeError("boom")

    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        monkeypatch.setattr(MenuList, "_move_by_page", broken)
        await pilot.press("pagedown")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, PortalScreen)
        assert any("Une erreur inattendue" in n and "boom" in n for n in _notices(app))
        assert [str(e) for e in app.unexpected_errors] == ["boom"]
        app.unexpected_errors.clear()
        await pilot.press("down", "enter")  # the keyboard still works
        await settle(pilot)
        assert app.screen.current == "utilisateurs"


async def test_an_unexpected_exception_in_a_page_handler_keeps_the_session(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's message handler that raises: reported, the page and the session go on."""
    from screens.messages import MessagesPage

    calls: list[int] = []

    def broken(self: Page, event: object) -> None:
        calls.append(1)
        raise ValueError("page handler")

    monkeypatch.setattr(MessagesPage, "on_button_pressed", broken, raising=False)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        from tests.support.portal import choose_in_menu

        await choose_in_menu(pilot, "messages")
        await pilot.press("tab")
        await settle(pilot)
        button = app.focused
        assert button is not None
        await pilot.press("enter")
        await settle_until(pilot, lambda: calls == [1])
        assert calls == [1]
        assert app.is_running and "page handler" in " ".join(_notices(app))
        app.unexpected_errors.clear()
        button.focus()  # the notice of the error may have taken the keyboard
        # A Button takes no press for 0.2 s after one (its "-active" look): a second press
        # before then is not a press (as a user's double press).
        await settle_until(pilot, lambda: not button.has_class("-active"))
        await pilot.press("enter")  # the page's loop still runs
        await settle_until(pilot, lambda: calls == [1, 1])
        assert calls == [1, 1]
        app.unexpected_errors.clear()
        assert "Messages structurés" in screen_text(pilot)


async def test_escape_in_a_form_with_unsaved_input_asks_first_even_after_a_language_switch(
    app: ExpeditoApp,
) -> None:
    """Données personnelles: a name typed, F2, Escape asks (it left without asking: the focus
    had gone to the sidebar); "Non" stays with what was typed, "Oui" leaves and drops it."""
    from textual.widgets import Input

    from tui.widgets.dialogs import ConfirmDialog

    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        await choose_in_menu(pilot, "donnees_personnelles")
        await tab_into_page(pilot)
        portal.query_one("#first_name", Input).focus()
        await pilot.press("end", *"x")
        await pilot.press("f2")
        await settle(pilot)
        assert app.lang == "nl"
        # The keyboard stays in the field it was in.
        assert app.focused is not None and app.focused.id == "first_name"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Deze pagina verlaten?" in screen_text(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert portal.current == "donnees_personnelles"
        assert portal.query_one("#first_name", Input).value == "Dieterx"
        portal.query_one(MenuList).focus()  # from the sidebar too
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert portal.current != "donnees_personnelles"
        await choose_in_menu(pilot, "donnees_personnelles")
        assert portal.query_one("#first_name", Input).value == "Dieter"  # dropped
        await pilot.press("escape")  # nothing typed: no question
        await settle(pilot)
        assert app.screen is portal and portal.current != "donnees_personnelles"


async def test_after_a_language_switch_the_keyboard_waits_for_the_fields_of_the_page_built_again(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F2 in *Données personnelles*' first name while the page built again in Dutch is still
    loading its form: the keyboard goes back to the first name once it is there — not to
    the *Opslaan* button mounted before the fields (1 run in 3 before), nor to the page."""
    import threading

    from textual.widgets import Input

    from screens.donnees_personnelles import DonneesPersonnellesPage

    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        await choose_in_menu(pilot, "donnees_personnelles")
        portal.query_one("#first_name", Input).focus()
        await pilot.press("end", "x")
        release = threading.Event()
        fetch = DonneesPersonnellesPage.fetch

        def held_fetch(page: DonneesPersonnellesPage) -> object:
            release.wait(10)
            return fetch(page)

        monkeypatch.setattr(DonneesPersonnellesPage, "fetch", held_fetch)
        await pilot.press("f2")
        for _ in range(3):  # the shell's refocus runs after the next refreshes: fields absent
            await pilot.pause()
        assert not portal.query("#first_name")
        release.set()
        await settle_until(pilot, lambda: bool(portal.query("#first_name")))
        await settle(pilot)
        assert app.lang == "nl"
        assert app.focused is not None and app.focused.id == "first_name", app.focused
        assert portal.query_one("#first_name", Input).value == "Dieterx"


async def test_at_60_columns_the_sidebar_waits_for_f4_and_the_wizard_fits(app: ExpeditoApp) -> None:
    """60x20: the page has the whole width (the sidebar took half and the wizard's buttons
    fell off the screen); F4 shows the sidebar across the width, Enter opens a page."""

    async with app.run_test(size=(60, 20)) as pilot:
        await enter_portal(pilot)
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        assert not portal.query_one(Sidebar).display
        assert not isinstance(app.focused, OptionList)
        await pilot.press("f4")
        await settle(pilot)
        sidebar = portal.query_one(Sidebar)
        assert sidebar.display and sidebar.outer_size.width == 60
        await choose_in_menu(pilot, "enregistrement")
        await pilot.press("f4")
        await settle(pilot)
        assert not portal.query_one(Sidebar).display
        for button in ("#wizard-cancel", "#wizard-previous", "#wizard-next"):
            region = portal.query_one(button).region
            assert region.right <= 60 and region.bottom <= 20 and region.width > 0, button
