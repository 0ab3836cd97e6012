"""What a page switch sets off (``bench/startup.py``), checked for behaviour: the events of the
screen's layout go only to the widgets that handle them (``tui.widgets.shown_events``), and
the sidebar runs its keys where they arrive (``MenuList._on_key``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest
from rich.style import Style
from textual import events
from textual._compositor import Compositor
from textual.geometry import Region, Size
from textual.message import Message
from textual.message_pump import MessagePump
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static

import screens.base
from screens.qualite_choice import QualiteChoiceScreen
from tests.support.pilot import settle, settle_until
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.screen import SIZE
from tui.app import ExpeditoApp
from tui.widgets.dialogs import HelpDialog
from tui.widgets.fitted_table import FittedTable
from tui.widgets.footer import PortalFooter
from tui.widgets.page_area import PageArea
from tui.widgets.sidebar import MenuList

SWITCH_EVENTS = (events.Show, events.Hide, events.Resize)


def _record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[MessagePump, type[Message]]]:
    """The Show, Hide and Resize events posted from now on: (to whom, which)."""
    posted: list[tuple[MessagePump, type[Message]]] = []
    post = MessagePump.post_message

    def recorded(self: MessagePump, message: Message) -> bool:
        if isinstance(message, SWITCH_EVENTS):
            posted.append((self, type(message)))
        return post(self, message)

    monkeypatch.setattr(MessagePump, "post_message", recorded)
    return posted


def _drawn(monkeypatch: pytest.MonkeyPatch) -> list[Widget]:
    """The widgets that draw a line of their own from now on (``Widget.render_line``)."""
    drawn: list[Widget] = []
    render_line = Widget.render_line

    def counted(self: Widget, y: int) -> Strip:
        drawn.append(self)
        return render_line(self, y)

    monkeypatch.setattr(Widget, "render_line", counted)
    return drawn


async def _ready(pilot, portal) -> None:  # type: ignore[no-untyped-def]
    await settle_until(pilot, lambda: "certificat" in portal._pages and not portal._cold)
    await settle(pilot)


async def test_a_page_drawn_ahead_is_shown_without_resize_and_show_events_to_plain_widgets(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its widgets have their size already: no Resize; a Static or a Label has no handler for
    Show or Hide: none is posted to it (some 75 messages per switch before, a fifth of the
    main thread's time)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        page = portal._pages["mot_de_passe"]
        posted = _record(monkeypatch)
        await choose_in_menu(pilot, "mot_de_passe", from_top=False)
        assert portal.page is page and page.display
        mine = [
            (w, e) for w, e in posted if isinstance(w, Widget) and page in w.ancestors_with_self
        ]
        assert not [w for w, e in mine if e is events.Resize], mine
        assert not [w for w, e in mine if type(w) is Static], mine
        left = portal._pages["accueil"]
        assert not [
            w
            for w, e in posted
            if e is events.Hide
            and isinstance(w, Widget)
            and left in w.ancestors_with_self
            and type(w) is Static
        ]


async def test_the_events_still_reach_the_widgets_that_handle_them(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OptionList scrolls to its highlight when shown (F4 hides and shows the sidebar);
        a focused field hidden loses the keyboard; a table drawn ahead gets no Resize (a
    DataTable drops the lines it has drawn on any)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        posted = _record(monkeypatch)
        menu = portal.query_one("#menu", MenuList)
        await pilot.press("f4", "f4")
        await settle(pilot)
        assert (menu, events.Show) in posted and (menu, events.Hide) in posted

        routes = portal._pages["routing_module"].query_one(DataTable)
        await choose_in_menu(pilot, "routing_module")
        assert portal.current == "routing_module" and routes.region
        assert (routes, events.Resize) not in posted  # it dropped the lines drawn ahead

        await choose_in_menu(pilot, "mot_de_passe")
        field = portal._pages["mot_de_passe"].query(Input).first()
        field.focus()
        await settle(pilot)
        assert field.has_focus
        posted.clear()
        await pilot.press("f5")  # Accueil: the page with the focused field is hidden
        await settle(pilot)
        assert (field, events.Hide) in posted
        assert not field.has_focus


async def test_a_page_shown_at_a_new_size_gets_its_resize(app: ExpeditoApp) -> None:
    """F4 gives the page the sidebar's width: its widgets are told (a table fits again)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        await choose_in_menu(pilot, "utilisateurs")
        table = portal._pages["utilisateurs"].query_one(DataTable)
        narrow = table.size.width
        await pilot.press("f4")
        await settle(pilot)
        assert table.size.width > narrow
        assert table._fitted_to == table.size.width  # type: ignore[attr-defined]


async def test_the_sidebar_runs_its_keys_where_they_arrive(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrows and Enter in the sidebar do not travel up to the app (five message hops each):
    the list's bindings run where they arrive. The screen's and the app's keys (F1, F3) go
    up as before: F3 replaces the screen, and the list with it, which must not be running
    it (the random keys ended the app so)."""
    reached: list[str] = []  # the keys that came back up to the app, from the focused widget
    on_event = ExpeditoApp.on_event

    async def recorded(self: ExpeditoApp, event: events.Event) -> None:
        if isinstance(event, events.Key) and event.is_forwarded:
            reached.append(event.key)
        await on_event(self, event)

    monkeypatch.setattr(ExpeditoApp, "on_event", recorded)
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        assert app.focused is portal.query_one("#menu", OptionList)
        reached.clear()  # the login's and the qualité's keys
        await pilot.press("down", "enter")
        await settle(pilot)
        assert portal.current == "utilisateurs"
        assert "down" not in reached and "enter" not in reached
        portal.focus_menu()
        await pilot.press("x", "f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        assert reached == ["x", "f1"]
        await pilot.press("escape")
        await settle(pilot)
        portal.focus_menu()
        await pilot.press("f3")  # another qualité: the portal goes, the choice comes
        await settle(pilot)
        assert isinstance(app.screen, QualiteChoiceScreen)
        assert app.screen.query_one("#qualites", OptionList).option_count == 2


async def test_a_table_drawn_ahead_is_not_drawn_again_when_first_shown(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """*Rechercher utilisateurs*' results, drawn ahead with the first search: its first show
    draws none of its rows again (a horizontal scrollbar while its columns were fitted made
    it one line taller ahead than shown; a scroll view says it was resized at every layout
    while it shows a scrollbar: each made it draw its rows again, 10 ms)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        monkeypatch.setattr(screens.base, "SETTLE", 60)  # no search again once shown
        results = portal._pages["recherche_utilisateurs"].query_one("#results", FittedTable)
        assert results.row_count
        drawn: list[object] = []
        draw = FittedTable._render_line_in_row

        def counted(self: FittedTable, *args: object) -> object:
            drawn.append(args[0])
            return draw(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(FittedTable, "_render_line_in_row", counted)
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        assert portal.current == "recherche_utilisateurs" and results.region
        assert not drawn, len(drawn)


async def test_the_page_area_and_the_page_keep_their_own_lines_when_a_page_is_shown(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Showing a page lays the area out again; the area's and the page's own lines (their
    background, their padding) stay as drawn (``KeepsItsLines``); a new size draws them."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        await choose_in_menu(pilot, "messages")  # from a page that fits too: the area's
        area = portal.query_one("#page-area", PageArea)  # scrollbar stays as it is
        page = portal._pages["mot_de_passe"]
        drawn = _drawn(monkeypatch)
        await choose_in_menu(pilot, "mot_de_passe")
        assert portal.page is page and page.region
        assert area not in drawn and page not in drawn
        await pilot.press("f4")  # the sidebar hidden: wider, drawn again
        await settle(pilot)
        assert area in drawn and page in drawn


async def test_an_arrow_in_the_sidebar_posts_no_highlight_message(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens to the list's ``OptionHighlighted``: it is not posted (it went up five
    widgets at each arrow); the highlight moves and stays in view."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        posted: list[Message] = []
        post = MessagePump.post_message

        def recorded(self: MessagePump, message: Message) -> bool:
            if isinstance(message, OptionList.OptionHighlighted):
                posted.append(message)
            return post(self, message)

        monkeypatch.setattr(MessagePump, "post_message", recorded)
        menu = portal.query_one("#menu", MenuList)
        await pilot.press("end")
        await settle(pilot)
        assert not posted
        assert menu.highlighted_option is not None and menu.highlighted_option.id == "certificat"
        assert menu.scroll_offset.y > 0  # the last item scrolled into view


async def test_the_footer_keeps_the_lines_of_keys_it_has_drawn(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """*Certificat personnel* has a key of its own (F6): the footer draws its keys once;
    opened again, the page gets them back without the footer drawing them anew."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        await choose_in_menu(pilot, "certificat")
        footer = portal.query_one(PortalFooter)
        shown = [footer.render_line(y).text for y in range(footer.size.height)]
        await pilot.press("f5")
        await settle(pilot)
        assert [footer.render_line(y).text for y in range(footer.size.height)] != shown
        drawn: list[int] = []
        draw = PortalFooter._draw_line

        def counted(self: PortalFooter, y: int, *styles: Style) -> Strip:
            drawn.append(y)
            return draw(self, y, *styles)

        monkeypatch.setattr(PortalFooter, "_draw_line", counted)
        await choose_in_menu(pilot, "certificat")
        assert [footer.render_line(y).text for y in range(footer.size.height)] == shown
        assert not drawn


async def test_a_page_switch_lays_the_screen_out_once(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The map of every widget a layout makes is the one the frame asks for: the screen is
    arranged once per layout, not again at the first ``Widget.region`` asked (Textual marked
    the map out of date when a widget out of it, here on a hidden page, was refreshed)."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        arranged: list[str] = []
        arrange, reflow = Compositor._arrange_root, Compositor.reflow

        def counted(self: Compositor, root: Widget, size: Size, visible_only: bool) -> object:
            if root is portal:
                arranged.append("arranged")
            return arrange(self, root, size, visible_only)

        def laid_out(self: Compositor, parent: Widget, size: Size) -> object:
            if parent is portal:
                arranged.append("layout")
            return reflow(self, parent, size)

        monkeypatch.setattr(Compositor, "_arrange_root", counted)
        monkeypatch.setattr(Compositor, "reflow", laid_out)
        for page_id in ("utilisateurs", "detail_qualite", "recherche_utilisateurs"):
            await pilot.press("down")  # the next item of the sidebar, from Accueil
            await settle(pilot)
            arranged.clear()
            # A hidden page drawn again meanwhile (its data reloaded): out of the map shown.
            portal._pages["mot_de_passe"].query_one(Input).refresh()
            await pilot.press("enter")
            await settle(pilot)
            assert portal.current == page_id and portal.page is not None
            assert portal.page.region  # asked of the map: no layout more
            after = [arranged[i + 1 : i + 3] for i, x in enumerate(arranged) if x == "layout"]
            assert after and all(
                later in (["arranged"], ["arranged", "layout"]) for later in after
            ), (page_id, arranged)


async def test_the_page_area_keeps_its_lines_when_its_scrollbar_comes_and_goes(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a page that fits to one taller than the area and back, the area shows and hides
    its scrollbar (a widget of its own): its own lines stay as drawn."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        area = portal.query_one("#page-area", PageArea)
        await choose_in_menu(pilot, "messages")
        assert not area.show_vertical_scrollbar
        drawn = _drawn(monkeypatch)
        await choose_in_menu(pilot, "routing_informations")
        assert area.show_vertical_scrollbar and area.max_scroll_y > 0
        await choose_in_menu(pilot, "routing_module")
        assert not area.show_vertical_scrollbar
        assert area not in drawn


async def test_the_sidebar_s_items_are_drawn_highlighted_ahead(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the work after login is done, an arrow onto any item finds its highlighted look
    drawn (``MenuList.draw_ahead``): none is drawn through Rich at the arrow."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        await settle_until(pilot, lambda: not portal._cold and not portal._data_coming())
        await settle(pilot)
        menu = portal.query_one("#menu", MenuList)
        drawn: list[object] = []
        to_strips = Visual.to_strips

        def counted(widget: Widget, visual: Visual, *args: object, **kwargs: object) -> object:
            if widget is menu:
                drawn.append(visual)
            return to_strips(widget, visual, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Visual, "to_strips", staticmethod(counted))
        for _ in range(menu.option_count):
            await pilot.press("down")
            await pilot.pause()
        await settle(pilot)
        highlighted = menu.highlighted_option
        assert highlighted is not None and highlighted.id != "accueil"
        assert not drawn, len(drawn)


async def test_the_frame_that_first_shows_a_page_finds_its_lines_cut_ahead(
    app: ExpeditoApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page drawn ahead is composed ahead too (``warm._compose_ahead``): the frame that
    first shows it cuts none of its widgets' lines anew (``Strip.divide`` finds each cut
    kept with the line), as a frame showing it again."""
    async with app.run_test(size=SIZE) as pilot:
        portal = await enter_portal(pilot)
        await _ready(pilot, portal)
        page = portal._pages["donnees_personnelles"]
        mine: set[int] = set()
        render_lines = Widget.render_lines

        def owned(self: Widget, crop: Region) -> list[Strip]:
            strips = render_lines(self, crop)
            if page in self.ancestors_with_self:
                mine.update(id(strip) for strip in strips)
            return strips

        cut_anew: list[Strip] = []
        divide = Strip.divide

        def counted(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
            cuts = list(cuts)
            key = tuple(cut for cut in cuts if cut <= self.cell_length)
            if id(self) in mine and self._divide_cache.get(key) is None:
                cut_anew.append(self)
            return divide(self, cuts)

        monkeypatch.setattr(Widget, "render_lines", owned)
        monkeypatch.setattr(Strip, "divide", counted)
        await choose_in_menu(pilot, "donnees_personnelles")
        assert portal.page is page and mine  # its lines went through the frame
        assert not cut_anew, len(cut_anew)
