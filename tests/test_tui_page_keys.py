"""A page's function keys (F6 Ajouter, F7 Modifier, F8 Supprimer, F7 Enregistrer) work from
anywhere while the page is on show — the sidebar, the page's scroll area — and the footer
shows them only where they apply."""

from __future__ import annotations

from textual.widgets import ContentSwitcher

from screens.wizard.wizard import Wizard
from store.democreds import DemoCredentials
from tests.support.pilot import settle
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.registration import register_demo_sender
from tests.support.screen import SIZE
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.footer import PortalFooter
from tui.widgets.page_area import PageArea


def footer_text(portal: PortalScreen) -> str:
    footer = portal.query_one(PortalFooter)
    return " ".join(footer.render_line(y).text for y in range(footer.size.height))


async def test_f7_and_f8_of_a_channel_work_from_the_sidebar_and_the_scroll_area(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await choose_in_menu(pilot, "canal_sftp")
        assert app.focused is portal.query_one("#menu")  # the keyboard is in the sidebar
        shown = footer_text(portal)
        assert "f7 Modifier" in shown and "f8 Supprimer" in shown
        assert "f6" not in shown  # Ajouter: the channel exists
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)  # asks before removing
        await pilot.press("escape")
        await settle(pilot)
        portal.query_one(PageArea).focus()  # Tab on a page of text: its scroll area
        await pilot.pause()
        assert "f7 Modifier" in footer_text(portal)
        await pilot.press("f7")
        await settle(pilot)
        wizard = portal.query_one(Wizard)
        assert wizard.query_one(ContentSwitcher).current == "channel"  # a change starts there
        # The wizard's own keys now; the page's Modifier / Supprimer do not apply.
        shown = footer_text(portal)
        assert "f7 Suivant" in shown and "Modifier" not in shown and "Supprimer" not in shown
        await choose_in_menu(pilot, "canal_ftp")
        shown = footer_text(portal)
        assert "f6 Ajouter" in shown  # no FTP channel: only Ajouter
        assert "Modifier" not in shown and "Supprimer" not in shown


async def test_the_contact_page_saves_with_f7_from_the_sidebar(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await choose_in_menu(pilot, "contact")
        assert "f7 Enregistrer" in footer_text(portal)
        await pilot.press("f7")
        await settle(pilot)
        assert any("ont été enregistrées" in str(n.message) for n in app._notifications)


async def test_a_user_sees_no_f7_or_f8_where_they_do_not_apply(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot, "ursula")
        for page in ("canal_sftp", "contact"):
            await choose_in_menu(pilot, page)
            shown = footer_text(portal)
            assert "f7" not in shown and "f8" not in shown, shown
        await pilot.press("f7", "f8")
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
        assert not portal.query(Wizard)
