"""The portal shell by keyboard alone at 80x24: every sidebar page, languages, roles, help,
the command palette, the qualité switch and Quit."""

from __future__ import annotations

from textual.widgets import Static

from screens.base import Page
from screens.placeholder import DeniedPage, PlaceholderPage
from screens.qualite_choice import QualiteChoiceScreen
from screens.registry import PAGES
from store.models import Person
from tests.support.clock import frozen_countdown
from tests.support.pilot import settle
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.screen import SIZE, screen_text
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.dialogs import ConfirmDialog, HelpDialog
from tui.widgets.portal_header import PortalHeader
from tui.widgets.sidebar import Sidebar


async def test_every_sidebar_item_opens_its_page_by_keyboard(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        pages = portal.query_one(Sidebar).pages
        assert pages == (
            "accueil",
            "utilisateurs",
            "detail_qualite",
            "recherche_utilisateurs",
            "routing_informations",
            "routing_module",
            "messages",
            "enregistrement",
            "donnees_personnelles",
            "mot_de_passe",
            "certificat",
        )
        for page_id in reversed(pages):  # down from Accueil wraps round to the end first
            await choose_in_menu(pilot, page_id, from_top=False)
            assert portal.current == page_id
            page = portal.query_one(f"#page-{page_id}", Page)
            assert isinstance(page, PAGES[page_id].load())
            if isinstance(page, PlaceholderPage):
                assert "Cette page n'est pas encore disponible." in screen_text(pilot)
            if page_id == "enregistrement":
                # The wizard takes the keyboard; Escape asks to cancel it, then the sidebar
                # has it back.
                assert app.focused is not None and app.focused.id == "wizard-next"
                await pilot.press("escape")
                assert isinstance(app.screen, ConfirmDialog)
                await pilot.press("y")
                await settle(pilot)
                assert portal.current == "messages"


async def test_messages_structures_without_sender(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await choose_in_menu(pilot, "messages", from_top=False)
        text = screen_text(pilot)
        assert "• Il n'y a pas d'expéditeur actif." in text
        assert portal.query("#open-enregistrement")
        # Tab goes to the page, Enter on the button opens the registration, Escape comes back.
        await pilot.press("tab")  # straight to the page's own button
        assert app.focused is not None and app.focused.id == "open-enregistrement"
        await pilot.press("enter")
        await settle(pilot)
        assert portal.current == "enregistrement"
        await pilot.press("escape")  # the wizard asks before it drops what was typed
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert portal.current == "messages"
        assert app.focused is portal.query_one("#menu")


async def test_tab_goes_to_the_page_s_first_field_or_to_a_text_page(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        area = portal.query_one("#page-area")
        # Accueil has nothing to focus: the area itself takes the keyboard, to scroll.
        await pilot.press("tab")
        assert app.focused is area
        await pilot.press("shift+tab")
        assert app.focused is portal.query_one("#menu")
        # A page with fields: the first Tab lands in the first field, not on the area.
        await choose_in_menu(pilot, "detail_qualite", from_top=False)
        await pilot.press("tab")
        focused = app.focused
        assert focused is not area and focused is not None and area in focused.ancestors
        assert focused.id == "name", focused
        await pilot.press("shift+tab")
        assert app.focused is portal.query_one("#menu")
        # Taller than the area (a short terminal): the area first, to scroll, then the field.
        await pilot.resize_terminal(80, 14)
        await settle(pilot)
        assert area.max_scroll_y > 0  # the whole form, to scroll (it was clipped)
        await pilot.press("tab")
        assert app.focused is area
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "name"


async def test_plain_utilisateur_cannot_open_a_channel(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot, "ursula")
        assert "enregistrement" not in portal.query_one(Sidebar).pages
        assert "Utilisateur" in screen_text(pilot)
        await choose_in_menu(pilot, "messages", from_top=False)
        text = screen_text(pilot)
        assert "Il n'y a pas d'expéditeur actif." in text
        assert (
            "Il n'y a que le gestionnaire local et le co-gestionnaire local de la qualité "
            "qui peuvent ouvrir un canal."
        ) in text
        assert not portal.query("#open-enregistrement")
        # Even asked for directly, the wizard is refused.
        await app.open_page("enregistrement")
        await settle(pilot)
        assert isinstance(portal.page, DeniedPage)
        assert "qui peuvent ouvrir un canal." in screen_text(pilot)


REFUSAL = "Il n'y a que le gestionnaire local "


async def test_a_utilisateur_sees_one_refusal_wording_everywhere(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot, "ursula")
        welcome = str(portal.query_one("#welcome", Static).render())
        assert "vous accédez en tant qu'Utilisateur au portail" in welcome
        # Messages structurés is no empty heading: it holds its page, as in the guide.
        menu = portal.query_one(Sidebar)
        items = [(item.page, item.level) for item in menu.items]
        at = items.index((None, 0), items.index(("routing_module", 1)))
        assert items[at : at + 2] == [(None, 0), ("messages", 1)]
        refusals = {
            "utilisateurs": "#users-note",
            "detail_qualite": "#read-only",
            "recherche_utilisateurs": "#search-denied",
            "routing_module": "#routing-note",
            "messages": "#managers-only",
            "enregistrement": "#managers-only",
            "suppression": "#managers-only",
        }
        for page, selector in refusals.items():
            await app.open_page(page)
            await settle(pilot)
            text = str(portal.page.query_one(selector, Static).render()) if portal.page else ""
            assert text.startswith(REFUSAL) and text.endswith("."), (page, text)
        assert text == (
            "Il n'y a que le gestionnaire local et le co-gestionnaire local de la qualité qui "
            "peuvent supprimer l'envoi par messages structurés."
        )


async def test_languages_switch_and_are_remembered(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await pilot.press("f2")  # fr → nl
        await settle(pilot)
        text = screen_text(pilot)
        assert (
            portal.query_one(PortalHeader).title_text
            == "Toegangsbeheer voor Ondernemingen en Organisaties"
        )
        assert "Toegangsbeheer voor Ondernemin" in text
        assert "Welkom Dhr. Dieter Expedito" in text
        assert "Functionaliteiten" in text
        assert Person.get(Person.login == "dieter").language == "nl"
        await app.action_language("de")
        await settle(pilot)
        assert (
            portal.query_one(PortalHeader).title_text
            == "Zugriffsverwaltung für Unternehmen und Organisationen"
        )
        await app.action_language("en")
        await settle(pilot)
        assert "Welcome Mr Dieter Expedito" in screen_text(pilot)
        assert portal.query_one("#menu") is app.focused
        assert Person.get(Person.login == "dieter").language == "en"
    # The next login opens in English.
    again = ExpeditoApp(demo=True, **frozen_countdown())
    async with again.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        assert (
            portal.query_one(PortalHeader).title_text
            == "Access management for Companies and Organisations"
        )
        assert "Welcome Mr Dieter Expedito" in screen_text(pilot)


async def test_switch_qualite(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, QualiteChoiceScreen)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen is portal
        assert "Secrétariat social" in screen_text(pilot)
        assert "SECRETARIAT DEMO" in screen_text(pilot)


async def test_help_palette_and_quit(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpDialog)
        assert app.screen.help_title == "Accueil"
        await pilot.press("escape")
        await pilot.pause()
        # The command palette reaches every page.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"mot de passe")
        await pilot.pause()
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is portal and portal.current == "mot_de_passe"
        # Quit asks first; "Rester" keeps the app running.
        await pilot.press("f10")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is portal
        await pilot.press("f10")
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
    assert app.return_code == 0


async def test_sync_status_slot(app: ExpeditoApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        portal = await enter_portal(pilot)
        countdown = portal.query_one("#countdown")
        # the countdown (frozen clock) fills the slot; see tests/test_tui_sync.py
        assert str(countdown.render()) == "Prochaine synchronisation à 14:30 — dans 12:34"
        app.set_sync_status("Synchronisation dans 12:34")  # shown at once (until the tick)
        assert str(countdown.render()) == "Synchronisation dans 12:34"
        # At 80 columns the whole title and the full countdown do not both fit: the short
        # form, and the title whole; in every language.
        await pilot.resize_terminal(80, 24)
        app.tick_countdown()
        await pilot.pause()
        for lang, short in (
            ("fr", "Synchro 14:30 — 12:34"),
            ("de", "Synchro 14:30 — 12:34"),
            ("en", "Sync 14:30 — 12:34"),
        ):
            await app.action_language(lang)
            await settle(pilot)
            header = app.screen.query_one(PortalHeader)
            assert str(app.screen.query_one("#countdown").render()) == short
            top = str(header.query_one("#header-lines").render()).splitlines()[0]
            assert top.strip() == header.title_text, top  # whole, beside the countdown
            assert len(top) + len(short) + 2 <= 80
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert str(app.screen.query_one("#countdown").render()) == (
            "Next synchronisation at 14:30 — in 12:34"
        )


async def test_the_countdown_ticks_only_where_it_can_be_seen(app: ExpeditoApp) -> None:
    """Each second: the portal's countdown, also under a dialog; not the login screen's under
    the portal (its update repainted the whole portal each second: issue 18's idle CPU),
    which catches up as soon as it is shown again."""
    from datetime import timedelta

    from screens.login import LoginScreen
    from tests.support.clock import FakeClock

    def countdown(screen: object) -> str:
        assert isinstance(screen, LoginScreen | PortalScreen | ConfirmDialog)
        return str(screen.query_one("#countdown").render())

    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        login = app.screen_stack[0]
        assert isinstance(login, LoginScreen)
        clock = app.back_office.clock
        assert isinstance(clock, FakeClock)
        before = countdown(login)
        assert "12:34" in before and "12:34" in countdown(portal)
        clock.current += timedelta(seconds=4)
        app.tick_countdown()
        await pilot.pause()
        assert countdown(portal) == "Synchro 14:30 — 12:30"
        assert countdown(login) == before  # not seen: left alone
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        clock.current += timedelta(seconds=1)
        app.tick_countdown()
        await pilot.pause()
        assert countdown(portal) == "Synchro 14:30 — 12:29"  # seen under the dialog
        await pilot.press("escape")
        await settle(pilot)
        app.log_out()
        await settle(pilot)
        assert app.screen is login
        assert "12:29" in countdown(login)  # caught up when shown


async def test_narrow_terminal_hides_sidebar_until_asked(app: ExpeditoApp) -> None:
    async with app.run_test(size=(50, 24)) as pilot:
        portal = await enter_portal(pilot)
        sidebar = portal.query_one(Sidebar)
        assert not sidebar.display or sidebar.region.width == 0
        await pilot.press("f4")
        await pilot.pause()
        assert sidebar.region.width > 0
        await choose_in_menu(pilot, "utilisateurs", from_top=False)
        assert portal.current == "utilisateurs"
