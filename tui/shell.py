"""The portal shell (DESIGN §4.1): header, qualité line, sidebar *Fonctionnalités*, the page.

Pages come from ``screens.registry``; the shell builds them with the app context, keeps a
history for Escape, and rebuilds them when the language, the qualité or the sender changes.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from screens.base import Page
from screens.registry import HOME, PAGES, menu
from store.dto import RoleInfo, SenderStatus
from tui.context import AppContext
from tui.formatting import person_title, qualite_line, role_name
from tui.i18n import Translator
from tui.i18n.bindings import localize_tree
from tui.widgets.footer import PortalFooter
from tui.widgets.portal_header import PortalHeader
from tui.widgets.sidebar import Sidebar


class PortalScreen(Screen[None]):
    AUTO_FOCUS = "#menu"
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (110, "-wide")]
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

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield PortalHeader(self.ctx.lang, self._user_text())
        yield Static(id="qualite-line", markup=False)
        with Horizontal(id="body"):
            yield Sidebar()
            yield VerticalScroll(id="page-area")
        yield PortalFooter()

    async def on_mount(self) -> None:
        self._relabel()
        await self._show(self.current)
        self.load_status()

    def _user_text(self) -> str:
        t, ctx = self.ctx.t, self.ctx
        return (f"{person_title(t, ctx.person.title)} {ctx.person.full_name} "
                f"({role_name(t, ctx.role.role)})")

    def _relabel(self) -> None:
        t = self.ctx.t
        self.query_one(PortalHeader).set_language(self.ctx.lang, self._user_text())
        self.query_one("#qualite-line", Static).update(qualite_line(t, self.ctx.qualite))
        self._show_menu()
        localize_tree(self, self.ctx.lang)
        self.refresh_bindings()

    def _show_menu(self) -> None:
        self.query_one(Sidebar).show(menu(self.ctx.status, self.ctx.is_manager), self.ctx.t,
                                     self.current)

    # --- pages --------------------------------------------------------------------------------

    @property
    def page(self) -> Page | None:
        pages = self.query_one("#page-area").query_children(Page)
        return pages.first() if pages else None

    async def open_page(self, page_id: str, remember: bool = True) -> None:
        """Show ``page_id`` (a ``screens.registry.PAGES`` id) right of the sidebar."""
        if page_id not in PAGES:
            return
        if remember and page_id != self.current:
            self.history.append(self.current)
            del self.history[:-20]
        self.current = page_id
        await self._show(page_id)
        self.query_one(Sidebar).mark(page_id)

    async def _show(self, page_id: str) -> None:
        spec = PAGES[page_id]
        if spec.manager_only and not self.ctx.is_manager:
            from screens.placeholder import DeniedPage

            page_class: type[Page] = DeniedPage
        else:
            page_class = spec.load()
        area = self.query_one("#page-area", VerticalScroll)
        await area.remove_children()
        page = page_class(self.ctx, page_id)
        await area.mount(page)
        area.scroll_home(animate=False)
        localize_tree(page, self.ctx.lang)
        self.refresh_bindings()

    async def on_sidebar_page_chosen(self, event: Sidebar.PageChosen) -> None:
        await self.open_page(event.page_id)

    async def on_page_open_page(self, event: Page.OpenPage) -> None:
        event.stop()
        await self.open_page(event.page_id)

    def on_page_sender_changed(self, event: Page.SenderChanged) -> None:
        event.stop()
        self.load_status()

    def on_page_context_changed(self, event: Page.ContextChanged) -> None:
        """New personal data, role, password or qualité data: relabel, keep the page.
        The message goes on to the app, which keeps the same context."""
        # The language and the sender status stay the shell's own.
        self.ctx = event.ctx.with_language(self.ctx.lang).with_status(self.ctx.status)
        self._relabel()
        page = self.page
        if page is not None:
            page.ctx = self.ctx

    def help_text(self, t: Translator) -> tuple[str, str]:
        spec = PAGES[self.current]
        return t(spec.title_key), t(spec.help_key) + "\n\n" + t("help.keys")

    # --- context changes ----------------------------------------------------------------------

    async def set_context(self, ctx: AppContext) -> None:
        """A new language, qualité or sender status: relabel and rebuild what depends on it."""
        old, self.ctx = self.ctx, ctx
        self._relabel()
        page = self.page
        if old.role != ctx.role:
            self.history.clear()
            self.current = HOME
            await self._show(HOME)
            self.load_status()
        elif page is not None and page.KEEP_ON_LANGUAGE_CHANGE:
            page.language_changed(ctx)
        elif old.lang != ctx.lang:
            await self._show(self.current)

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
        page = self.page
        if page is not None:
            page.ctx = self.ctx

    # --- actions ------------------------------------------------------------------------------

    async def action_back(self) -> None:
        if self.history:
            await self.open_page(self.history.pop(), remember=False)
        self.query_one(Sidebar).focus_menu()

    def action_toggle_sidebar(self) -> None:
        """Hide or show the sidebar (on very narrow terminals it is hidden until asked for)."""
        if self.has_class("-tiny"):
            self.toggle_class("-sidebar-shown")
            shown = self.has_class("-sidebar-shown")
        else:
            self.toggle_class("-sidebar-hidden")
            shown = not self.has_class("-sidebar-hidden")
        if shown:
            self.query_one(Sidebar).focus_menu()
        else:
            self.query_one("#page-area").focus()
