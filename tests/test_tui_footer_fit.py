"""The footer never cuts a label: at 80x24, in French, Dutch, German and English, on every
page (with the keyboard in the sidebar and on each kind of widget of the page), every step
of the registration wizard and the dialogs, each key's label is drawn whole."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from screens.wizard.wizard import Wizard
from store.democreds import DemoCredentials
from tests.support.pilot import settle
from tests.support.portal import enter_portal, open_page
from tests.support.screen import SIZE
from tests.support.wizard import fill_contact, load_channel
from tui.app import ExpeditoApp
from tui.i18n import LANGUAGES
from tui.shell import PortalScreen
from tui.widgets.footer import PortalFooter, layout
from tui.widgets.portal_header import PortalHeader
from tui.widgets.sidebar import Sidebar


def cut_labels(screen: Screen[object]) -> list[str]:
    """The labels of the footer's keys that are not drawn whole ('f7 Suivant')."""
    footer = screen.query_one(PortalFooter)
    drawn = "\n".join(footer.render_line(y).text for y in range(footer.size.height))
    keys = [*footer.keys, *([footer.palette] if footer.palette else [])]
    labels = [f"{key.display} {key.description}" for key in keys]
    return [label for label in labels if label not in drawn]


def focus_places(portal: PortalScreen) -> list[Widget]:
    """The sidebar, and one widget of each kind the keyboard can reach in the page."""
    page = portal.page
    assert page is not None
    places: list[Widget] = [portal.query_one("#menu")]
    kinds: set[type[Widget]] = set()
    for widget in portal.focus_chain:
        if page in widget.ancestors and type(widget) not in kinds:
            kinds.add(type(widget))
            places.append(widget)
    return places


class Footers:
    """Looks at the footer wherever the keyboard can be; keeps what was cut, and where."""

    def __init__(self, pilot: Pilot[None]) -> None:
        self.pilot = pilot
        self.cut: list[str] = []
        self.seen = 0

    async def check(self, where: str) -> None:
        app = self.pilot.app
        screen = app.screen
        places = focus_places(screen) if isinstance(screen, PortalScreen) else [app.focused]
        for widget in places:
            if widget is not None and widget is not app.focused:
                widget.focus()
                await self.pilot.pause()
            self.seen += 1
            if cut := cut_labels(app.screen):
                name = type(widget).__name__
                lang = app.lang if isinstance(app, ExpeditoApp) else "?"
                self.cut.append(f"{lang} {where} ({name}): {', '.join(cut)}")

    async def in_each_language(self, where: str) -> None:
        """Here in the four languages (F2 keeps the page and the wizard's step)."""
        for _ in LANGUAGES:
            await self.check(where)
            await self.pilot.press("f2")
            await settle(self.pilot)

    async def pages(self, portal: PortalScreen, only: tuple[str, ...] = ()) -> None:
        """Every page of the sidebar (or ``only`` those) in the four languages."""
        app = self.pilot.app
        assert isinstance(app, ExpeditoApp)
        for _ in LANGUAGES:
            for page_id in portal.query_one(Sidebar).pages:
                if only and page_id not in only:
                    continue
                await open_page(self.pilot, page_id)
                await self.check(page_id)
            await self.pilot.press("f2")
            await settle(self.pilot)
        assert app.lang == "fr"


SENDER_PAGES = (
    "apercu",
    "contact",
    "canal_sftp",
    "canal_ftp",
    "canal_mqlink",
    "canal_webservice",
    "envois",
    "suppression",
)


def wizard_step(portal: PortalScreen) -> str:
    return str(portal.query_one(Wizard).query_one(ContentSwitcher).current)


async def walk_wizard(
    footers: Footers, portal: PortalScreen, creds: DemoCredentials, page: str
) -> None:
    """Every step of the wizard on ``page``; those with the most keys (F9 *Parcourir* on the
    channel's step, F7 *Confirmer* on the last) in the four languages (a switch builds every
    page again: seconds each)."""
    pilot = footers.pilot
    await open_page(pilot, page)
    steps: dict[str, Callable[[], Awaitable[None]]] = {
        "contact": lambda: fill_contact(pilot),
        "channel": lambda: load_channel(pilot, creds.ssh_public_key, creds.certificate_der),
    }
    for _ in range(6):
        step = wizard_step(portal)
        if step in ("channel", "confirmation"):
            await footers.in_each_language(f"{page} wizard {step}")
        else:
            await footers.check(f"{page} wizard {step}")
        if step == "confirmation":
            return
        portal.query_one(Wizard).focus_step()
        await pilot.pause()
        if step in steps:
            await steps[step]()
        elif step == "user":
            await pilot.press(*"EXPDEMO123", "tab", *"EXPDEMO123")
        await pilot.press("f7")
        await settle(pilot)
    raise AssertionError(f"the wizard on {page} never reached its confirmation")


@pytest.mark.parametrize("login", ["dieter", "olivier", "ursula", "colette"])
async def test_every_footer_label_is_whole_at_80_columns_in_every_language(
    app: ExpeditoApp, login: str
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot, login)
        footers = Footers(pilot)
        await footers.pages(portal)
        await pilot.press("f10")  # the quit dialog
        await settle(pilot)
        await footers.in_each_language("quit dialog")
        assert footers.seen > 40
        assert not footers.cut, "\n".join(footers.cut)


async def test_every_footer_label_is_whole_with_a_sender_and_in_the_wizards(
    app: ExpeditoApp, demo_credentials: DemoCredentials
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        footers = Footers(pilot)
        await walk_wizard(footers, portal, demo_credentials, "enregistrement")
        await pilot.resize_terminal(100, 30)  # one line would cut them: two ("f6 Précé")
        await settle(pilot)
        assert not cut_labels(app.screen) and portal.query_one(PortalFooter).size.height == 2
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        await pilot.press("f7")  # Confirmer
        await settle(pilot)
        # The pages a sender brings (the others: in the test above).
        await footers.pages(portal, SENDER_PAGES)
        await open_page(pilot, "canal_sftp")
        await pilot.press("f7")  # Modifier: the wizard of a change
        await settle(pilot)
        await footers.check("canal_sftp wizard")
        assert footers.seen > 60
        assert not footers.cut, "\n".join(footers.cut)


async def test_every_footer_label_is_whole_on_the_login_page_and_in_the_small_dialogs(
    app: ExpeditoApp,
) -> None:
    """The login page, F1 *Aide*, F3 the qualité choice, *Utilisateurs*' *Ajouter* and *Rôle*
    and *Certificat personnel*'s file browser, in the four languages."""
    from textual.widgets import DataTable

    from screens.qualite_choice import QualiteChoiceScreen
    from screens.user_dialogs import GiveAccessDialog, RoleDialog
    from screens.wizard.file_browser import FileBrowser
    from store.models import Person
    from tui.widgets.dialogs import HelpDialog

    async with app.run_test(size=SIZE) as pilot:
        footers = Footers(pilot)
        await pilot.pause()
        await footers.in_each_language("login page")
        portal = await enter_portal(pilot)
        opened: list[str] = []

        async def dialog(where: str, kind: type[Screen[Any]], *keys: str) -> None:
            await pilot.press(*keys)
            await settle(pilot)
            assert isinstance(app.screen, kind), (where, app.screen)
            opened.append(where)
            await footers.check(where)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is portal, (where, app.screen)

        for lang in LANGUAGES:
            await app.action_language(lang)
            await settle(pilot)
            await dialog("help", HelpDialog, "f1")
            await dialog("qualité choice", QualiteChoiceScreen, "f3")
            await open_page(pilot, "utilisateurs")
            table = portal.query_one("#users", DataTable)
            table.focus()
            await dialog("utilisateurs add", GiveAccessDialog, "a")
            ursula = Person.get(Person.login == "ursula").id  # a role that can change
            table.move_cursor(row=table.get_row_index(str(ursula)))
            await dialog("utilisateurs role", RoleDialog, "r")
            await open_page(pilot, "certificat")
            await dialog("certificat browser", FileBrowser, "f6")
        assert len(opened) == 5 * len(LANGUAGES) and footers.seen >= len(opened) + 4
        assert not footers.cut, "\n".join(footers.cut)


def test_layout_keeps_labels_whole_when_lines_can_hold_them() -> None:
    # Columns as wide as their widest label, the room left shared out.
    assert layout([10, 6, 8, 6], (40, 80)) == [
        (0, 0, 22, 0),
        (0, 22, 40, 1),
        (1, 0, 22, 2),
        (1, 22, 40, 3),
    ]
    cells = layout([18, 18, 18, 4, 4, 4], (50, 80))  # columns would need 66: lines on their own
    sizes = [18, 18, 18, 4, 4, 4]
    assert all(x1 - x0 >= sizes[i] for _, x0, x1, i in cells)
    assert max(x1 for y, _, x1, _ in cells if y == 0) <= 50
    cut = layout([30, 30, 30], (40,))  # cannot fit: the widest cut first, all within the line
    assert max(x1 for _, _, x1, _ in cut) <= 40


async def test_the_header_names_the_user_whole_at_80_columns_in_every_language(
    app: ExpeditoApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot, "colette")  # the longest role: co-gestionnaire
        person = portal.ctx.person
        for _ in LANGUAGES:
            header = portal.query_one(PortalHeader)
            line = header.lines(SIZE[0]).plain.split("\n")[1]
            assert len(line) <= SIZE[0] and "…" not in line, (app.lang, line)
            assert person.last_name in line and "(" in line and line.endswith(") "), line
            await pilot.press("f2")
            await settle(pilot)
