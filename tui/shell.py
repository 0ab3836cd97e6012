"""The portal shell (DESIGN §4.1): header, qualité line, sidebar *Fonctionnalités*, the page.

Pages come from ``screens.registry``; the shell builds them with the app context, keeps a
history for Escape, and rebuilds them when the language, the qualité or the sender changes.
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from screens.base import Page
from screens.registry import HOME, PAGES, menu
from store.dto import RoleInfo, SenderStatus
from tui import heap
from tui.backoffice import SyncNotice
from tui.context import AppContext
from tui.formatting import person_title, qualite_line, role_name
from tui.i18n import Translator
from tui.widgets.footer import PortalFooter
from tui.widgets.page_area import PageArea
from tui.widgets.portal_header import PortalHeader
from tui.widgets.shown_events import refresh_layout
from tui.widgets.sidebar import MenuList, Sidebar
from tui.widgets.warm import SIZED, warm

DATA_WAIT = 0.5
"""Seconds the work ahead waits, at most, for the data of a page it built (``prebuild``):
milliseconds on SQLite, longer on a busy PostgreSQL; the page is drawn when it comes."""
DATA_POLL = 0.002
# What a step of the work ahead did (``PortalScreen.prebuild``); SIZED is ``warm``'s.
DRAWN, BUILT, WAIT, DONE = "drawn", "built", "wait", "done"


class PortalScreen(Screen[None]):
    AUTO_FOCUS = "#menu"
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (61, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("f3", "app.switch_qualite", "Qualité", id="shell.qualite"),
        Binding("f4", "toggle_sidebar", "Menu", id="shell.sidebar"),
        Binding("f5", "app.home", "Accueil", id="shell.home"),
        Binding("escape", "back", "Retour", id="shell.back"),
    ]

    class StatusLoaded(Message):
        def __init__(self, qualite_id: int, status: SenderStatus) -> None:
            super().__init__()
            self.qualite_id = qualite_id
            self.status = status

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(id="portal")
        self.ctx = ctx
        self.current: str = HOME
        self.history: list[str] = []
        self._pages: dict[str, Page] = {}
        self._typed: dict[str, dict[str, object]] = {}  # page id → Page.typed_values()
        self._cold: list[str] = []  # hidden pages to lay out and draw ahead (``prebuild``)
        self._shown_once: set[str] = set()  # pages shown since they were built
        self._sized: set[str] = set()  # pages whose widgets got their size ahead (``warm``)
        # Building, showing and dropping pages await mounts and removals: a language switch,
        # a page opened or the prebuild must not run into one another half-way (two quick
        # F2 built the same page twice).
        self._pages_lock = asyncio.Lock()
        self._waiting = False  # prebuild: a step waits for the data of a page built ahead

    # --- layout -------------------------------------------------------------------------------

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        """Textual's, with the events of a page switch only for the widgets that handle them
        (``tui.widgets.shown_events``)."""
        refresh_layout(self, size, scroll)

    def compose(self) -> ComposeResult:
        yield PortalHeader(self.ctx.lang, self._user_text())
        yield Static(id="qualite-line", markup=False)
        with Horizontal(id="body"):
            yield Sidebar(self.open_page)
            yield PageArea(id="page-area")
        yield PortalFooter()

    async def on_mount(self) -> None:
        self._relabel()
        await self._show(self.current)
        self.load_status()
        self.call_after_refresh(self.prebuild)

    def on_unmount(self) -> None:
        heap.unsettled()  # the portal goes (logged out, another session): its pages with it

    def _user_text(self) -> tuple[str, ...]:
        """Who is logged in, for the header: the whole form, then shorter ones where it does
        not fit beside the links (German at 80 columns): without the title, with the first
        name's initial."""
        t, person = self.ctx.t, self.ctx.person
        role = role_name(t, self.ctx.role.role)
        initial = f"{person.first_name[:1]}. " if person.first_name else ""
        return (
            f"{person_title(t, person.title)} {person.full_name} ({role})",
            f"{person.full_name} ({role})",
            f"{initial}{person.last_name} ({role})",
        )

    def _relabel(self) -> None:
        t = self.ctx.t
        self.query_one(PortalHeader).set_language(self.ctx.lang, self._user_text())
        self.query_one("#qualite-line", Static).update(qualite_line(t, self.ctx.qualite))
        self._show_menu()
        self.refresh_bindings()

    def _show_menu(self) -> None:
        from store.models import EXPLOITATION

        operator = self.ctx.role.role == EXPLOITATION
        self.query_one(Sidebar).show(
            menu(self.ctx.status, self.ctx.is_manager, operator), self.ctx.t, self.current
        )

    # --- pages --------------------------------------------------------------------------------

    @property
    def sidebar_pages(self) -> tuple[str, ...]:
        """The page ids the sidebar offers, top to bottom."""
        return self.query_one(Sidebar).pages

    @property
    def page(self) -> Page | None:
        """The page on show."""
        return self._pages.get(self.current)

    async def open_page(self, page_id: str, remember: bool = True) -> None:
        """Show ``page_id`` (a ``screens.registry.PAGES`` id) right of the sidebar."""
        if page_id not in PAGES:
            return
        async with self._pages_lock:
            if remember and page_id != self.current:
                self.history.append(self.current)
                del self.history[:-20]
            await self._show(page_id)
            self.query_one(Sidebar).mark(page_id)

    def _page_class(self, page_id: str) -> type[Page]:
        spec = PAGES[page_id]
        if spec.manager_only and not self.ctx.is_manager:
            from screens.placeholder import DeniedPage

            return DeniedPage
        return spec.load()

    async def _build(self, page_id: str, shown: bool) -> Page:
        page = self._page_class(page_id)(self.ctx, page_id)
        page.display = shown
        self._pages[page_id] = page
        await self.query_one("#page-area", PageArea).mount(page)
        if (typed := self._typed.pop(page_id, None)) is not None:
            page.restore_typed(typed)
        return page

    async def _show(self, page_id: str) -> None:
        """Show the page, built once per context and kept (hidden) for the next visit."""
        previous = self._pages.get(self.current)
        self.current = page_id
        page = self._pages.get(page_id)
        if previous is not None and previous is not page:
            previous.display = False
            previous.settle_cancelled()
            previous.page_hidden()
        if page is None:
            page = await self._build(page_id, shown=True)
            if not page.loads_data:  # drawn ahead if the work ahead is running (``_unpainted``)
                self._cold.append(page_id)
        else:
            self.query_one("#page-area", PageArea).make_room_for(page)
            page.display = True
            page.page_shown()
        self._shown_once.add(page_id)
        # Once the page stays: a thread started now would compete with its first frame, and
        # with the next page's when the person goes on at once.
        page.when_settled(page.check_session)
        area = self.query_one("#page-area", PageArea)
        if area.scroll_offset.y:
            area.scroll_home(animate=False)
        self.refresh_bindings()  # the page's function keys work from the sidebar too

    async def _clear_pages(self) -> None:
        heap.unsettled()
        self._pages.clear()
        self._typed.clear()
        self._cold.clear()
        self._shown_once.clear()
        self._sized.clear()
        await self.query_one("#page-area", PageArea).remove_children()

    async def prebuild(self) -> None:
        """Build the sidebar's pages ahead (hidden) and lay out and draw each of them once its
        data shows (``tui.widgets.warm``: its first show then costs what showing it again
        costs); opening them is then instant. A page drawn comes before a page built, the
        pages drawn in the sidebar's order (their data comes in any order), so that they get
        ready in the order a person goes through them.

        One step per turn of the screen's message loop, each queued behind the last, and
        waiting for the data of the pages built (``DATA_WAIT`` seconds at most): the screen
        paints again once all of it is done. A key pressed meanwhile is handled between two
        steps, and the page it opens shows when the work ahead ends (the first moment after
        login, at most a second on the demo data), so that the pages opened after it come
        at once rather than each one beside a step of it. (Letting the screen paint between
        steps spread the work over the next keys: each of the first five pages opened took
        50-150 ms instead of 15-30, ``bench/startup.py``; drawing ahead only once no key came
        for a moment, or 30 ms apart, was slower still.)
        """
        async with self._pages_lock:
            step = self._draw_next() or await self._build_next() or self._finish()
        if step == SIZED:
            # The screen's queue never waits while steps follow one another: the widgets
            # handle their Resize (a table fits its columns) only once it gives way.
            for _turn in range(2):
                await asyncio.sleep(0)
        elif step == WAIT:  # the data's thread is on its way: its page is drawn at the next step
            if self._waiting:  # another chain waits already
                return
            self._waiting = True
            await asyncio.sleep(DATA_POLL)
            self._waiting = False
        elif step == DONE:
            return
        self.call_later(self.prebuild)

    def _draw_next(self) -> str | None:
        """Draw the first page waiting to be drawn ahead, in the sidebar's order: DRAWN, or
        SIZED (drawn at a later step); None when none is."""
        area = self.query_one("#page-area", PageArea)
        order = {page_id: i for i, page_id in enumerate(self.query_one(Sidebar).pages)}
        self._cold.sort(key=lambda page_id: order.get(page_id, len(order)))
        while self._cold:
            cold = self._pages.get(self._cold.pop(0))
            if cold is None or (cold.display and not self._unpainted(cold)):
                continue
            warmed = warm(area, cold, resize=cold.page_id not in self._sized)
            if warmed == SIZED:
                self._sized.add(cold.page_id)
                self._cold.append(cold.page_id)
                return SIZED
            if warmed:
                return DRAWN
        return None

    async def _build_next(self) -> str | None:
        """Build the first sidebar page not built yet, hidden: BUILT; None when all are."""
        for page_id in self.query_one(Sidebar).pages:
            if page_id not in self._pages and self._page_class(page_id).PREBUILD:
                page = await self._build(page_id, shown=False)
                if not page.loads_data:  # else drawn once its data shows
                    self._cold.append(page_id)
                return BUILT
        return None

    def _finish(self) -> str:
        """Every page built and drawn: WAIT while data is still coming, else DONE."""
        if self._data_coming():
            return WAIT
        self.query_one("#menu", MenuList).draw_ahead()
        heap.settled()  # every page built and drawn (tui.heap)
        return DONE

    def _data_coming(self) -> bool:
        """Whether a page built ahead, hidden or not painted yet (``_unpainted``), waits for
        its data since less than ``DATA_WAIT`` seconds."""
        return any(
            (since := page.loading_for()) is not None and since < DATA_WAIT
            for page in self._pages.values()
            if not page.display or self._unpainted(page)
        )

    def _unpainted(self, page: Page) -> bool:
        """Whether ``page`` is on show but not yet on the screen: opened while the work ahead
        ran (the screen paints once it is done). It is drawn ahead like a hidden page, or
        its first frame would be followed by another (its table fitted to the width it got)
        in the time of the next key."""
        return page.display and page not in self._compositor.widgets

    def on_page_data_shown(self, event: Page.DataShown) -> None:
        """A page built ahead showed its data while hidden (or on show, not painted yet):
        drawn ahead of its first frame.
        (A page shown before keeps its widgets' sizes and most of their lines: what a
        reload changed is drawn when it is shown again, not ahead, beside the keys that
        came meanwhile.)"""
        event.stop()
        page_id = event.page.page_id
        page = event.page
        page.data_taken()  # the work ahead no longer waits for it: it is drawn from here
        if (
            self._pages.get(page_id) is page
            and page_id not in self._cold
            and ((not page.display and page_id not in self._shown_once) or self._unpainted(page))
        ):
            self._cold.append(page_id)
            self.call_after_refresh(self.prebuild)

    async def on_sidebar_page_chosen(self, event: Sidebar.PageChosen) -> None:
        event.stop()
        await self.open_page(event.page_id)

    async def on_page_open_page(self, event: Page.OpenPage) -> None:
        event.stop()
        leaving = self.current
        await self.open_page(event.page_id)
        if event.discard and leaving != self.current:
            async with self._pages_lock:
                await self._discard(leaving)
            self.call_after_refresh(self.prebuild)  # afresh, ahead of the next visit
        if event.flash and self.page is not None:
            self.page.flash(event.flash)

    async def _discard(self, page_id: str) -> None:
        heap.unsettled()
        page = self._pages.pop(page_id, None)
        self._shown_once.discard(page_id)
        self._sized.discard(page_id)
        if page is not None:
            await page.remove()
        if self.focused is None:  # the keyboard was in the page that went: back to the menu
            self.focus_menu()

    async def on_page_sender_changed(self, event: Page.SenderChanged) -> None:
        event.stop()
        async with self._pages_lock:
            for page_id in [p for p in self._pages if p != self.current]:
                await self._discard(page_id)
        self.load_status()

    def on_page_context_changed(self, event: Page.ContextChanged) -> None:
        """New personal data, role, password or qualité data: relabel, keep the page.
        The message goes on to the app, which keeps the same context."""
        # The language and the sender status stay the shell's own.
        self.ctx = event.ctx.with_language(self.ctx.lang).with_status(self.ctx.status)
        self._relabel()
        for page in self._pages.values():  # kept pages too: they check the session when shown
            page.ctx = self.ctx

    def sync_completed(self, notice: SyncNotice) -> None:
        """A synchronisation cycle completed: reload the sender status (the sidebar) and
        tell every page built so far, shown or kept hidden (``Page.sync_completed``)."""
        self.load_status()
        for page in list(self._pages.values()):
            page.sync_completed(notice)

    def help_text(self, t: Translator) -> tuple[str, str]:
        spec = PAGES[self.current]
        return t(spec.title_key), t(spec.help_key)

    # --- context changes ----------------------------------------------------------------------

    async def set_context(self, ctx: AppContext) -> None:
        """A new language, qualité or sender status: relabel and rebuild what depends on it."""
        old, self.ctx = self.ctx, ctx
        self._relabel()
        async with self._pages_lock:
            if old.role != ctx.role:
                self.history.clear()
                await self._clear_pages()
                self.current = HOME
                await self._show(HOME)
                self.query_one(Sidebar).mark(HOME)
                self.load_status()
                self.call_after_refresh(self.prebuild)
            elif old.lang != ctx.lang:
                kept = {pid: p for pid, p in self._pages.items() if p.KEEP_ON_LANGUAGE_CHANGE}
                # What was typed and not saved goes to the page built again in the new language.
                # Pages not built again yet since a previous switch keep what they were given.
                self._typed.update(
                    {
                        pid: typed
                        for pid, p in self._pages.items()
                        if pid not in kept and (typed := p.typed_values())
                    }
                )
                for kept_page in kept.values():
                    kept_page.language_changed(ctx)
                focused = self._focus_in_page()
                area = self.query_one("#page-area", PageArea)
                heap.unsettled()
                await area.remove_children([p for pid, p in self._pages.items() if pid not in kept])
                self._pages = kept
                self._shown_once &= set(kept)
                self._sized &= set(kept)
                await self._show(self.current)
                if focused is not None:  # the keyboard stays in the page, where it was
                    self.call_after_refresh(self._refocus, focused)
                self.call_after_refresh(self.prebuild)

    def _focus_in_page(self) -> str | None:
        """The id of the focused widget when it is in the page on show (the page's own id
        when the widget has none); None when the keyboard is elsewhere."""
        page, focused = self.page, self.focused
        if (
            page is None
            or focused is None
            or (focused is not page and page not in focused.ancestors)
        ):
            return None
        return focused.id or page.id

    def _refocus(self, widget_id: str) -> None:
        page = self.page
        if page is None or (self.focused is not None and page in self.focused.ancestors):
            return  # the page gave it a place itself (a wizard's step)
        if widget_id == page.id:  # the page itself (a widget without an id) had it
            self.query_one("#page-area", PageArea).focus_page()
        else:  # now, or once the page's load has mounted it
            page.focus_when_there(widget_id)

    async def set_role(self, role: RoleInfo) -> None:
        await self.set_context(self.ctx.with_role(role))

    @work(thread=True, exclusive=True, exit_on_error=False, group="status")
    def load_status(self) -> None:
        from store.senders import sender_status

        qualite_id = self.ctx.qualite.id
        self.post_message(self.StatusLoaded(qualite_id, sender_status(qualite_id)))

    def on_portal_screen_status_loaded(self, event: StatusLoaded) -> None:
        if event.qualite_id != self.ctx.qualite.id:
            return
        self.ctx = self.ctx.with_status(event.status)
        self._show_menu()
        for page in self._pages.values():
            page.ctx = self.ctx
        self.call_after_refresh(self.prebuild)  # the pages a new sidebar offers

    # --- keys ---------------------------------------------------------------------------------

    @property
    def _binding_chain(self) -> list[tuple[DOMNode, BindingsMap]]:
        """Textual's chain (the focused widget, its ancestors, the screen, the app), with the
        function keys of the page on show (``Page.key_owners``) before the screen's when the
        keyboard is not in the page: F7 *Modifier* works, and shows in the footer, from the
        sidebar and from the page's scroll area too. Letters stay with the focused widget."""
        chain = super()._binding_chain
        page = self.page
        if page is None or not page.display or any(node is page for node, _ in chain):
            return chain
        keymap = self.app._keymap
        lifted: list[tuple[DOMNode, BindingsMap]] = []
        for owner in page.key_owners():
            bindings = owner._bindings.copy()
            if keymap:
                bindings.apply_keymap(keymap)
            for key in list(bindings.key_to_bindings):
                if not _is_function_key(key):
                    del bindings.key_to_bindings[key]
            if bindings.key_to_bindings:
                lifted.append((owner, bindings))
        at = next((i for i, (node, _) in enumerate(chain) if node is self), len(chain))
        return [*chain[:at], *lifted, *chain[at:]]

    # --- actions ------------------------------------------------------------------------------

    async def action_back(self) -> None:
        """Escape: the previous page — after asking, when something typed here is not saved
        (then what was typed goes: the page is built afresh for the next visit)."""
        page = self.page
        if page is not None and page.unsaved_input():
            page.ask_to_leave(partial(self._leave, page.page_id))
            return
        await self._go_back()

    async def _go_back(self) -> None:
        if self.history:
            await self.open_page(self.history.pop(), remember=False)
        elif self.current != HOME:
            await self.open_page(HOME, remember=False)
        self.focus_menu()

    async def _leave(self, page_id: str) -> None:
        await self._go_back()
        if self.current != page_id and page_id in self._pages:
            async with self._pages_lock:
                await self._discard(page_id)
            self.call_after_refresh(self.prebuild)

    @property
    def sidebar_shown(self) -> bool:
        """Whether the sidebar is on screen (F4 hides it; below 61 columns it is hidden until
        F4 shows it)."""
        if self.has_class("-tiny"):
            return self.has_class("-sidebar-shown")
        return not self.has_class("-sidebar-hidden")

    def focus_menu(self) -> None:
        """The keyboard to the sidebar, or to the page when the sidebar is hidden (a hidden
        list that has the keyboard takes keys nobody sees)."""
        if self.sidebar_shown:
            self.query_one(Sidebar).focus_menu()
        else:
            self.query_one("#page-area", PageArea).focus_page()

    def action_toggle_sidebar(self) -> None:
        """Hide or show the sidebar (on very narrow terminals it is hidden until asked for)."""
        if self.has_class("-tiny"):
            self.toggle_class("-sidebar-shown")
        else:
            self.toggle_class("-sidebar-hidden")
        self.focus_menu()


def _is_function_key(key: str) -> bool:
    """F1 to F24, the keys a page's actions live on (a letter goes to the focused widget)."""
    return key[:1] == "f" and key[1:].isdigit()
