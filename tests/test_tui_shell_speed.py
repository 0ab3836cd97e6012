"""What makes a page switch cheap (``bench/startup.py``), checked for behaviour: the pages
built ahead, the one-widget footer, Enter in the sidebar, the login screen's own button."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref

import pytest
from textual import events
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

import tui.heap
import tui.shell
from screens.base import Page
from screens.registry import PAGES
from screens.utilisateurs import UtilisateursPage
from store.access import create_person
from store.models import UTILISATEUR
from store.users import give_access
from tests.support.pilot import settle, settle_until
from tests.support.portal import choose_in_menu, enter_portal, log_in
from tests.support.registration import person_id, qualite_id
from tests.support.screen import SIZE, screen_text
from tui.app import ExpeditoApp
from tui.shell import PortalScreen
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.fitted_table import FittedTable
from tui.widgets.footer import PortalFooter
from tui.widgets.key_button import KeyButton
from tui.widgets.sidebar import MenuList, Sidebar


def _footer_text(portal: PortalScreen) -> list[str]:
    footer = portal.query_one(PortalFooter)
    return [footer.render_line(y).text for y in range(footer.size.height)]


async def test_sidebar_pages_are_built_ahead_with_their_data(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle(pilot)
        built = {page.page_id: page for page in portal.query(Page)}
        sidebar_pages = {
            page_id for page_id in portal.query_one(Sidebar).pages if PAGES[page_id].load().PREBUILD
        }
        assert set(built) == sidebar_pages and "donnees_personnelles" in built
        assert app.focused is portal.query_one("#menu")  # the hidden wizard left it there
        assert [p for p in built.values() if p.display] == [built["accueil"]]
        users = built["utilisateurs"]
        assert isinstance(users, UtilisateursPage)
        assert users.query_one(DataTable).row_count == 3  # loaded while hidden
        await choose_in_menu(pilot, "utilisateurs", from_top=False)
        assert portal.page is users  # shown, not built again
        assert users.display and not built["accueil"].display


async def test_enter_in_the_sidebar_opens_the_page_and_keeps_the_keyboard_there(
    app: ExpeditoApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        menu = portal.query_one("#menu")
        await pilot.press("down", "enter")
        await settle(pilot)
        assert portal.current == "utilisateurs"
        assert app.focused is menu
        await pilot.press("down", "enter")  # the next arrow is not lost
        await settle(pilot)
        assert portal.current == "detail_qualite"
        assert app.focused is menu


async def test_a_click_on_a_sidebar_item_opens_it(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        menu = portal.query_one("#menu")
        line = next(
            y for y in range(menu.size.height) if "Informations" in menu.render_line(y).text
        )
        await pilot.click(menu, offset=(4, line))
        await settle(pilot)
        assert portal.current == "routing_informations"


async def test_footer_shows_every_key_of_the_screen_on_two_lines_at_80_columns(
    app: ExpeditoApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        first, second = _footer_text(portal)
        assert len(first) == len(second) == 80
        assert first.split() == [
            "f3",
            "Qualité",
            "f4",
            "Menu",
            "f5",
            "Accueil",
            "esc",
            "Retour",
            "▏^p",
            "Commandes",
        ]
        assert second.split() == ["f1", "Aide", "f2", "Langue", "f10", "Quitter"]
        # The page's own keys join when the keyboard is in the page.
        await choose_in_menu(pilot, "utilisateurs", from_top=False)
        portal.query_one("#page-utilisateurs DataTable").focus()
        await settle(pilot)
        shown = " ".join(_footer_text(portal))
        assert "a Ajouter" in shown and "x Retirer" in shown and "f1 Aide" in shown
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        # From 100 columns one line, unless it would cut a label (these eleven keys need 123).
        assert portal.query_one(PortalFooter).size.height == 2
        await pilot.resize_terminal(140, 40)
        await settle(pilot)
        assert portal.query_one(PortalFooter).size.height == 1
        assert "c Co-gest." in " ".join(_footer_text(portal))


async def test_footer_is_empty_under_a_dialog_and_back_after_it(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert all(not line.strip() for line in _footer_text(portal))
        assert portal.query_one(PortalFooter).size.height == 2  # the screen below stays put
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PortalScreen)
        assert "f10 Quitter" in " ".join(_footer_text(portal))


async def test_a_click_on_a_footer_key_presses_it(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await choose_in_menu(pilot, "utilisateurs", from_top=False)
        footer = portal.query_one(PortalFooter)
        x = _footer_text(portal)[0].index("f5")
        await pilot.click(footer, offset=(x + 1, 0))  # "f5 Accueil"
        await settle(pilot)
        assert portal.current == "accueil"


async def test_login_button_by_enter_space_and_click(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        button = screen.query_one("#login-submit", KeyButton)
        assert button.label == "Se connecter"
        for press in ("enter", "space", "click"):
            button.focus()
            if press == "click":
                await pilot.click(button)
            else:
                await pilot.press(press)
            await settle(pilot)
            assert "Introduisez votre login" in str(screen.query_one("#login-message").render()), (
                press
            )
            screen.query_one("#login-message", Static).update("")
        button.disabled = True
        button.action_press()
        await settle(pilot)
        assert str(screen.query_one("#login-message").render()) == ""
        button.disabled = False
        screen.query_one("#login", Input).value = "dieter"
        screen.query_one("#password", Input).value = "demo"
        button.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, type(screen))


async def test_a_page_built_ahead_shows_todays_data_when_opened(app: ExpeditoApp) -> None:
    """Built at login, shown later: what changed in between (an access given in another
    session) is on the page a moment after it opens."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle(pilot)
        table = portal.query_one("#page-utilisateurs DataTable", DataTable)
        assert table.row_count == 3
        create_person("nadia", "Secret123456", "Nadia", "Nouvelle")
        give_access(person_id("dieter"), qualite_id(), UTILISATEUR, "nadia")  # elsewhere
        await choose_in_menu(pilot, "utilisateurs", from_top=False)
        await settle(pilot)
        assert table.row_count == 4
        assert "nadia" in {str(table.get_row_at(i)[1]) for i in range(table.row_count)}


async def test_a_page_passed_through_does_not_reload_one_that_stays_does(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Going down the sidebar with Enter on each page shows each page as it was built ahead
    and reloads none of them (a reload of a page already left competed with the next one);
    the page that stays reloads once it has stayed ``SETTLE`` seconds, and checks the
    session then."""
    fetched: list[str] = []
    fetch = UtilisateursPage.fetch

    def counted(self: UtilisateursPage, session_changed: bool = False) -> object:
        fetched.append(self.page_id)
        return fetch(self, session_changed)

    checked: list[str] = []
    check = Page.check_session

    def counted_check(self: Page) -> None:
        checked.append(self.page_id)
        check(self)

    monkeypatch.setattr(UtilisateursPage, "fetch", counted)
    monkeypatch.setattr(Page, "check_session", counted_check)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle_until(pilot, lambda: "detail_qualite" in portal._pages)
        await settle(pilot)
        assert fetched == ["utilisateurs"]  # built ahead: loaded once
        monkeypatch.setattr("screens.base.SETTLE", 30.0)
        fetched.clear()
        checked.clear()
        for _ in range(2):  # Utilisateurs, then Détail de la qualité at once
            app.post_message(events.Key("down", None))
            app.post_message(events.Key("enter", "\r"))
            await pilot.pause()
        assert portal.current == "detail_qualite"
        assert not portal._pages["utilisateurs"]._settling  # left: its reload is dropped
        assert portal._pages["detail_qualite"]._settling  # waiting for the page to stay
        monkeypatch.setattr("screens.base.SETTLE", 0.02)
        await choose_in_menu(pilot, "utilisateurs", from_top=False)
        await settle(pilot)
        assert fetched == ["utilisateurs"]  # it stayed: reloaded once, the earlier pass not
        assert checked == ["utilisateurs"]


async def test_keys_typed_ahead_in_the_sidebar_keep_their_order(app: ExpeditoApp) -> None:
    """Down then Enter arriving together (a fast typist, a terminal sending both at once)
    open the item below, not the one highlighted before Down."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        app.post_message(events.Key("down", None))
        app.post_message(events.Key("enter", "\r"))
        await settle(pilot)
        assert portal.current == "utilisateurs"
        for key in ("down", "down", "up", "enter"):
            app.post_message(events.Key(key, None))
        await settle(pilot)
        assert portal.current == "detail_qualite"


async def test_the_status_loaded_after_login_keeps_the_arrow_s_place(app: ExpeditoApp) -> None:
    """The sender status, read in a thread after login, shows the sidebar again: an arrow
    pressed before it came stays where it put the highlight (the next Enter opened Accueil)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        menu = portal.query_one("#menu", MenuList)
        await pilot.press("down")
        assert menu.highlighted_option is not None
        assert menu.highlighted_option.id == "utilisateurs"
        status = portal.ctx.status
        assert status is not None
        portal.on_portal_screen_status_loaded(
            PortalScreen.StatusLoaded(portal.ctx.qualite.id, status)
        )
        assert menu.highlighted_option.id == "utilisateurs"
        await pilot.press("f2")  # another language: other labels, the same place
        await settle(pilot)
        assert menu.highlighted_option is not None
        assert menu.highlighted_option.id == "utilisateurs"
        await pilot.press("enter")
        await settle(pilot)
        assert portal.current == "utilisateurs"


async def test_an_arrow_in_the_sidebar_draws_two_options_again_not_the_list(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle(pilot)
        menu = portal.query_one("#menu", MenuList)
        drawn: list[int] = []
        render_line = MenuList.render_line

        def counted(self: MenuList, y: int) -> Strip:
            drawn.append(y)
            return render_line(self, y)

        monkeypatch.setattr(MenuList, "render_line", counted)
        await pilot.press("down")
        await pilot.pause()
        assert menu.highlighted_option is not None
        assert menu.highlighted_option.id == "utilisateurs"
        assert drawn and len(drawn) <= 4, drawn  # Accueil's line and Utilisateurs' (two)
        assert "Utilisateurs" in "".join(menu.render_line(y).text for y in range(menu.size.height))


async def test_pages_built_ahead_are_drawn_ahead(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page built ahead is laid out and drawn while hidden (``tui.widgets.warm``):
    opening it draws none of its widgets' contents again, only their places on screen."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle_until(pilot, lambda: "certificat" in portal._pages and not portal._cold)
        page = portal._pages["mot_de_passe"]  # one that fits: no scrollbar comes after
        assert not page.display
        texts = [w for w in page.query(Static) if w.outer_size]
        assert len(texts) >= 5  # sized while hidden (labels, rules, status)
        drawn: list[Widget] = []
        render_content = Widget._render_content

        def counted(self: Widget) -> None:
            drawn.append(self)
            render_content(self)

        monkeypatch.setattr(Widget, "_render_content", counted)
        await choose_in_menu(pilot, "mot_de_passe", from_top=False)
        await pilot.pause()
        assert portal.page is page and page.display
        assert not [w for w in drawn if w in texts], drawn
        assert "Mot de passe actuel" in screen_text(pilot)


async def test_pages_are_drawn_ahead_in_the_sidebar_s_order(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their data comes back in any order; the pages waiting to be drawn are drawn top to
    bottom, the order a person goes through them (``PortalScreen.prebuild``)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle_until(pilot, lambda: "certificat" in portal._pages and not portal._cold)
        drawn: list[str] = []
        draw = tui.shell.warm

        def counted(area: Widget, page: Page, resize: bool = True) -> bool | str:
            drawn.append(page.page_id)
            return draw(area, page, resize)

        monkeypatch.setattr(tui.shell, "warm", counted)
        waiting = ["certificat", "messages", "detail_qualite", "utilisateurs"]
        portal._cold.extend(waiting)  # as if their data had come back bottom first
        await portal.prebuild()
        await settle_until(pilot, lambda: not portal._cold)
        sidebar = portal.sidebar_pages
        assert drawn == sorted(waiting, key=sidebar.index)


async def test_pages_ready_leave_the_collector_s_sight_and_pages_dropped_are_freed(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every page is built and drawn ahead, what exists is frozen out of the cycle
    collector's full collections (``tui.heap``: one fell in a page switch, 50-100 ms); the
    pages dropped by a language switch are given back to it and freed."""
    monkeypatch.setattr(tui.heap, "ENABLED", True)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle_until(pilot, lambda: "certificat" in portal._pages and not portal._cold)
        await settle(pilot)
        assert gc.get_freeze_count() > 10_000  # the pages' widgets among them
        # The youngest generation collected about once a frame, not 5-10 times in one.
        assert gc.get_threshold()[:2] == (tui.heap.YOUNG, tui.heap.MIDDLE)
        gone = weakref.ref(portal._pages["utilisateurs"])
        await pilot.press("f2")  # another language: the pages are built again
        await settle_until(pilot, lambda: "certificat" in portal._pages and not portal._cold)
        assert portal._pages["utilisateurs"] is not gone()
        gc.collect()
        assert gone() is None
    tui.heap.unsettled()  # this process's own thresholds back, as they were
    assert gc.get_threshold() == tui.heap._thresholds and not gc.get_freeze_count()


def _slow_certificate(monkeypatch: pytest.MonkeyPatch, seconds: float) -> threading.Event:
    """*Certificat personnel*'s data comes ``seconds`` late, or when the event is set."""
    from screens.certificat import CertificatPage

    fetch = CertificatPage.fetch
    come = threading.Event()

    def late(self: CertificatPage) -> object:
        come.wait(seconds)
        return fetch(self)

    monkeypatch.setattr(CertificatPage, "fetch", late)
    return come


async def test_the_work_ahead_waits_for_the_data_of_the_pages_it_builds(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen paints again once every page built ahead is drawn with its data (a page
    whose data came after the screen painted was drawn in the time of the next keys), and
    *Rechercher utilisateurs*' first search counts as its data: its table is fitted to the
    page's width while hidden, not when opened."""
    ready_at_end: list[bool] = []  # when the work ahead ended: certificat drawn with its data

    def ended() -> None:
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        certificat = portal._pages.get("certificat")
        ready_at_end.append(
            certificat is not None
            and certificat.loading_for() is None
            and "certificat" in portal._sized
        )

    monkeypatch.setattr(tui.heap, "settled", ended)
    monkeypatch.setattr(tui.shell, "DATA_WAIT", 5.0)  # a loaded machine: 0.3 s can take 0.5
    _slow_certificate(monkeypatch, 0.3)
    refits: list[int] = []  # the widths the results were fitted to again when resized
    on_resize = FittedTable.on_resize

    def counted(self: FittedTable, event: events.Resize) -> None:
        if self.id == "results" and event.size.width != self._fitted_to:
            refits.append(event.size.width)
        on_resize(self, event)

    monkeypatch.setattr(FittedTable, "on_resize", counted)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle_until(pilot, lambda: bool(ready_at_end))
        assert ready_at_end[0]  # the first time: waited for it
        results = portal._pages["recherche_utilisateurs"].query_one("#results", FittedTable)
        assert results.row_count and results._fitted_to > 0
        refits.clear()
        await choose_in_menu(pilot, "recherche_utilisateurs")
        assert portal.current == "recherche_utilisateurs"
        assert not refits, refits
        assert results._fitted_to == results.size.width


async def test_a_load_that_does_not_come_holds_the_work_ahead_half_a_second_at_most(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page whose data does not come (a busy database) is drawn when it comes: the screen
    paints ``DATA_WAIT`` seconds after that page's load started, at most."""
    settled: list[float] = []
    monkeypatch.setattr(tui.heap, "settled", lambda: settled.append(time.monotonic()))
    come = _slow_certificate(monkeypatch, 10)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await log_in(pilot, "dieter")
            await pilot.press("enter")  # the first qualité; the work ahead starts
            portal = app.screen
            assert isinstance(portal, PortalScreen)
            deadline = time.monotonic() + 5
            while not settled and time.monotonic() < deadline:  # not settle: it waits for
                await pilot.pause(0.02)  # the load, which is what is looked at
            assert settled
            since = portal._pages["certificat"].loading_for()
            assert since is not None and tui.shell.DATA_WAIT <= since < 5
            come.set()
            await choose_in_menu(pilot, "certificat")
            assert "Aucun certificat" in screen_text(pilot)
    finally:
        come.set()


async def test_a_page_opened_while_the_work_ahead_runs_is_drawn_before_its_first_frame(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened at once after login (the walk of ``bench/startup.py``), before its data came:
    the screen paints it once the work ahead is done, drawn ahead like the hidden pages —
    its table fitted to its width before its first frame, not after it, in a second frame
    in the time of the next key."""
    fetch = UtilisateursPage.fetch

    def late(self: UtilisateursPage, session_changed: bool = False) -> object:
        time.sleep(0.3)  # opened before its data comes: not drawn ahead while hidden
        return fetch(self, session_changed)

    monkeypatch.setattr(UtilisateursPage, "fetch", late)
    refitted: list[tuple[int, bool]] = []  # (width, on the screen already) at each Resize
    on_resize = FittedTable.on_resize

    def counted(self: FittedTable, event: events.Resize) -> None:
        if self.id == "users" and event.size.width != self._fitted_to:
            page = self.screen._pages["utilisateurs"]  # type: ignore[attr-defined]
            refitted.append((event.size.width, page in self.screen._compositor.widgets))
        on_resize(self, event)

    monkeypatch.setattr(FittedTable, "on_resize", counted)
    started: list[bool] = []  # the work ahead has begun (after Accueil's first frame)
    prebuild = PortalScreen.prebuild

    async def step(self: PortalScreen) -> None:
        started.append(True)
        await prebuild(self)

    monkeypatch.setattr(PortalScreen, "prebuild", step)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await log_in(pilot, "dieter")
        app.post_message(events.Key("enter", "\r"))  # the first qualité
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # not Pilot's wait: it waits for the work ahead
        portal = app.screen
        assert isinstance(portal, PortalScreen) and started
        app.post_message(events.Key("down", None))
        app.post_message(events.Key("enter", "\r"))
        await settle_until(pilot, lambda: portal.current == "utilisateurs" and not portal._cold)
        table = portal._pages["utilisateurs"].query_one("#users", FittedTable)
        assert table.row_count and table._fitted_to == table.size.width
        assert refitted and not [r for r in refitted if r[1]], refitted


async def test_a_hidden_table_filled_again_keeps_the_width_it_was_fitted_to(
    app: ExpeditoApp,
) -> None:
    """*Utilisateurs* reloaded while hidden (the sync came, the page stayed built): its table,
    which has no size while hidden, keeps its columns fitted to the page's width, so that
    showing it again needs no second layout."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await settle(pilot)
        await choose_in_menu(pilot, "utilisateurs")
        page = portal._pages["utilisateurs"]
        assert isinstance(page, UtilisateursPage)
        table = page.query_one("#users", FittedTable)
        width = table._fitted_to
        assert width == table.size.width > 0
        await pilot.press("f5")  # Accueil: the page is hidden, kept
        await settle(pilot)
        assert not page.display and table.size.width == 0
        page.reload()
        await settle(pilot)
        assert table._fitted_to == width


async def test_a_search_that_fails_is_not_waited_for(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """*Rechercher utilisateurs*' first search counts as its data; when it fails (the
    database refuses it), the work ahead stops waiting for it at once, not after
    ``DATA_WAIT``, and the page says what failed when opened."""
    import store.users

    def refused(*args: object) -> object:
        raise RuntimeError("database refused")

    monkeypatch.setattr(store.users, "search_persons", refused)
    waited: list[float | None] = []  # when the work ahead ended: the search's wait

    def ended() -> None:
        portal = app.screen
        assert isinstance(portal, PortalScreen)
        waited.append(portal._pages["recherche_utilisateurs"].loading_for())

    monkeypatch.setattr(tui.heap, "settled", ended)
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await settle_until(pilot, lambda: bool(waited))
        assert waited[0] is None
        assert any("database refused" in str(n.message) for n in app._notifications)
