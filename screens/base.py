"""The base of every portal page shown right of the sidebar.

A page is a ``Widget`` built by the shell with the app context::

    class MyPage(Page):
        def compose(self) -> ComposeResult:
            yield Static(self.t("page.my.title"), classes="page-title")
            yield Static(id="data")

        def on_mount(self) -> None:
            self.load()  # fetch in a thread, then show

        def fetch(self) -> Data:  # runs in a thread: the database is fine here
            return some_store_service(self.ctx.person.id, self.ctx.qualite.id)

        async def show(self, data: Data) -> None: ...  # on the event loop

``load()`` (``load_and_show(self.fetch, self.show)``; a page whose load takes arguments calls
``load_and_show`` with them) is the one way pages load: ``fetch`` in a thread worker
(``@work(thread=True, exclusive=True, exit_on_error=False)``, group ``load``: a newer load of
the page cancels an older one, whose result is then dropped), ``show`` with its result on the
event loop; a failure goes to ``show_error``. A page shown again shows what it loaded before
at once and reloads once it has stayed on show a moment (``self.when_settled(self.load)`` in
``page_shown``; ``SETTLE`` seconds): a person going through the sidebar's pages with the
arrows and Enter gets each page at once, and no reload of a page already left competes with
the next one (measured with ``bench/startup.py``).

``self.ctx`` (``tui.context.AppContext``) holds the session, the qualité, the role, the
language and the sender status; ``self.t(key, **params)`` translates. When the language
changes the shell builds the page again, unless it sets ``KEEP_ON_LANGUAGE_CHANGE`` and
handles ``language_changed()`` itself (a half-filled form should). Failed workers call
``show_error`` with the translated domain error. A page is built once per context and
kept while the person moves around: ``page_shown()`` is called when it is shown again.
Pages navigate with ``self.open_page(id)`` and tell the shell that the sender changed
with ``self.sender_changed()``, and that the session or the qualité's own data changed (a
new name, role or password; not another qualité) with ``self.context_changed(ctx)``: the
shell relabels the header and the qualité line and keeps the page.

Each time the shell shows a page it checks, in a thread and once the page has settled, that
the session is still current (``store.personal.session_is_current``: no password change since
it was opened); a stale one posts ``SessionStale``, and the app sends it back to the login page.

Synchronisation: the header shows the countdown to the next :00/:30 cycle on every page
(the app does it; a page need not). When a cycle completes — run by this process's worker,
or seen in the database when another process (``expedito serve``) runs it — the shell calls
``sync_completed(notice)`` on every page it holds, shown or hidden, on the event loop.
``notice`` is a ``tui.backoffice.SyncNotice`` (``slot``: the slot's aware local datetime,
``provisioned``: channels provisioned or re-keyed, None when not known). A page showing a
channel "en cours" reloads its data there, in a worker as always::

    def sync_completed(self, notice: SyncNotice) -> None:
        self.load()  # a channel pending until now may be "actif"
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import work
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker, WorkerState, get_current_worker

from tui.context import AppContext, PortalApp, portal_app
from tui.i18n import error_text
from tui.widgets.page_area import KeepsItsLines

if TYPE_CHECKING:
    from tui.backoffice import SyncNotice

Data = TypeVar("Data")
Show = Callable[[Data], Awaitable[None] | None]

SETTLE = 0.35
"""Seconds a page stays on show before ``when_settled`` callbacks run (its reload, the session
check): less than a person takes to read it, more than the time between two keys of someone
going through the pages."""


class Page(KeepsItsLines):
    """One portal page; ``page_id`` is its registry id (``screens.registry.PAGES``).
    Its own lines are kept when it is shown or hidden (``KeepsItsLines``)."""

    DEFAULT_CSS = """
    Page { height: auto; padding: 0 1; }
    """
    KEEP_ON_LANGUAGE_CHANGE: ClassVar[bool] = False
    _focus_wish: tuple[str, Widget | None] | None = None  # focus_when_there: (id, focus then)
    _settling: tuple[Timer, ...] = ()  # when_settled: the callbacks waiting for the page to stay
    _loading_since: float | None = None  # loading_started: when the data on its way was asked
    loads_data = False
    """Whether the page has loaded data (``loading_started``): it posts ``DataShown`` when it
    shows (``data_shown``)."""
    PREBUILD: ClassVar[bool] = True
    """Built ahead, hidden, after login (its data loaded), so that opening it from the sidebar
    only shows it. A page built ahead must not take the keyboard while hidden (it can in
    ``page_shown``); one that cannot be built ahead sets False."""

    class OpenPage(Message):
        """Ask the shell to open another page (``discard``: drop the page that asks, so the
        next visit builds it afresh — a finished or cancelled form)."""

        def __init__(self, page_id: str, discard: bool = False, flash: str = "") -> None:
            super().__init__()
            self.page_id = page_id
            self.discard = discard
            self.flash = flash

    class SenderChanged(Message):
        """The qualité's sender changed: the shell reloads the status and the sidebar, and
        drops the hidden pages, whose data is stale."""

    class ContextChanged(Message):
        """The session or the qualité's data changed: the shell and the app keep ``ctx``."""

        def __init__(self, ctx: AppContext) -> None:
            super().__init__()
            self.ctx = ctx

    class SessionStale(Message):
        """The person's password changed after this session was opened: back to login."""

    class DataShown(Message):
        """The page showed what a load read (``load_and_show``): the shell draws a hidden
        page again ahead of its next show (``tui.widgets.warm``)."""

        def __init__(self, page: Page) -> None:
            super().__init__()
            self.page = page

    class DataLoaded(Message):
        """A load finished (``load_and_show``): ``show()`` puts its data on the page."""

        bubble = False

        def __init__(self, show: Callable[[], Awaitable[None] | None]) -> None:
            super().__init__()
            self.show = show

    def __init__(self, ctx: AppContext, page_id: str) -> None:
        super().__init__(id=f"page-{page_id}", classes="page")
        self.ctx = ctx
        self.page_id = page_id

    def t(self, key: str, /, **params: Any) -> str:
        return self.ctx.tr(key, **params)

    @property
    def portal_app(self) -> PortalApp:
        """The app, typed (``tui.context.PortalApp``): its back office, its database, …"""
        return portal_app(self)

    def open_page(self, page_id: str, discard: bool = False, flash: str = "") -> None:
        """Open another page; ``flash``: a message for it to show ("L'expéditeur a bien été
        créé.")."""
        self.post_message(self.OpenPage(page_id, discard, flash))

    def flash(self, text: str) -> None:
        """Show a message another page sent along when it opened this one (``open_page``);
        pages with a place for it in the portal's style override this."""
        self.notify(text, timeout=10)

    def sender_changed(self) -> None:
        self.post_message(self.SenderChanged())

    def page_shown(self) -> None:
        """Called when the shell shows this page again, or for the first time when it was
        built ahead after login: its data may be older than the person expects.

        Pages whose data may have changed reload it here once the page has stayed on show
        (``self.when_settled(self.load)``): what was loaded shows at once, the fresh data a
        moment later. A form keeps what is typed in it.
        """

    def when_settled(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` once the page has stayed on show ``SETTLE`` seconds; not at all
        when the shell hides it before (``settle_cancelled``). The person may have done
        something meanwhile (typed, turned a page): the callback looks at the page as it is
        then, not as it was when shown."""

        def settled() -> None:
            self._settling = tuple(timer for timer in self._settling if timer is not waiting)
            if self.display:
                callback()

        waiting = self.set_timer(SETTLE, settled, name="settle")
        self._settling = (*self._settling, waiting)

    def settle_cancelled(self) -> None:
        """The shell hid the page: what waited for it to settle is not done."""
        for timer in self._settling:
            timer.stop()
        self._settling = ()

    def page_hidden(self) -> None:
        """Called when the shell hides this page to show another (it is kept for the next
        visit). Pages that must not keep what was typed (a password) forget it here."""

    def load(self) -> None:
        """Load the page's data afresh and show it: ``fetch`` in a thread, then ``show``."""
        self.load_and_show(self.fetch, self.show)

    def fetch(self) -> Any:
        """The page's data, read in a thread (the database is fine there)."""
        return None

    def show(self, data: Any) -> Awaitable[None] | None:
        """Put what ``fetch`` read on the page (on the event loop); may be ``async``."""
        return None

    def load_and_show(self, fetch: Callable[[], Data], show: Show[Data]) -> None:
        """``fetch()`` in a thread, then ``show(data)`` on the event loop (see the module
        docstring). Call it on the event loop."""
        self.loading_started()
        self._load_thread(fetch, show)

    def loading_started(self) -> None:
        """The page's data is on its way (a load, a search of its own): the shell draws the
        page ahead once ``data_shown`` says it came, not before."""
        self.loads_data = True
        self._loading_since = time.monotonic()

    def data_shown(self) -> None:
        """What a load read is on the page: the shell draws it ahead if it is hidden, and
        ends ``loading_for`` when it gets the message (``data_taken``)."""
        self.post_message(self.DataShown(self))

    def data_taken(self) -> None:
        """The shell has the ``DataShown`` of the load on its way: nothing is waited for."""
        self._loading_since = None

    def loading_for(self) -> float | None:
        """Seconds since the load on its way started (``loading_started``), until the shell
        has its ``DataShown`` (``data_taken``); None when none is on its way (or it failed)."""
        since = self._loading_since
        return None if since is None else time.monotonic() - since

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load_thread(self, fetch: Callable[[], Any], show: Show[Any]) -> None:
        data = fetch()
        if not get_current_worker().is_cancelled:  # a newer load is on its way
            self.post_message(self.DataLoaded(partial(show, data)))

    async def on_page_data_loaded(self, message: DataLoaded) -> None:
        shown = message.show()
        if shown is not None:
            await shown
        if self._focus_wish is not None:
            self._grant_focus_wish()
        self.data_shown()

    def focus_when_there(self, widget_id: str) -> None:
        """Give the keyboard to the page's ``#widget_id`` now if it is there and can take it,
        else once a load has put it there (a page built again in another language fills its
        form in a worker) — unless the keyboard has moved meanwhile. Until then the keyboard
        stays where it is: a page half-mounted would give it to whatever is there first (the
        form's *Enregistrer* button, mounted before the fields its rows compose)."""
        self._focus_wish = (widget_id, self.screen.focused)
        self._grant_focus_wish()

    def _grant_focus_wish(self) -> None:
        assert self._focus_wish is not None
        widget_id, focused_then = self._focus_wish
        if self.screen.focused is not focused_then:  # the person moved it: leave it there
            self._focus_wish = None
            return
        found = self.query(f"#{widget_id}")
        if found and found.first().focusable:
            self._focus_wish = None
            found.first().focus()

    def context_changed(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.post_message(self.ContextChanged(ctx))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session")
    def check_session(self) -> None:
        """Called by the shell each time the page is shown."""
        from store.personal import session_is_current

        if not session_is_current(self.ctx.session):
            self.post_message(self.SessionStale())

    def sync_completed(self, notice: SyncNotice) -> None:
        """Called when a synchronisation cycle completed (see the module docstring).

        Pages whose data the cycle changes (channels "en cours" → "actif") reload it here.
        """

    def language_changed(self, ctx: AppContext) -> None:
        """Called instead of a rebuild when ``KEEP_ON_LANGUAGE_CHANGE`` is set."""
        self.ctx = ctx

    def typed_values(self) -> dict[str, object] | None:
        """What was typed in the page and not saved, for the page built again in another
        language (``restore_typed``); None when there is nothing to carry over."""
        return None

    def restore_typed(self, values: dict[str, object]) -> None:
        """Called on a page built again in another language, once mounted, with what
        ``typed_values`` gave on the page it replaces."""

    async def _on_message(self, message: Message) -> None:
        """Every handler of the page runs here: one that raises is reported by the app and
        the session goes on (Textual would stop this page's message loop and end the app)."""
        try:
            await super()._on_message(message)
        except Exception as error:
            app = self.app
            if not isinstance(app, PortalApp):
                raise
            app.unexpected_error(error)

    def key_owners(self) -> list[Widget]:
        """The widgets whose function keys (F6 Ajouter, F7 Modifier, F8 Supprimer, …) work
        wherever the keyboard is while the page is on show — in the sidebar, on the page's
        scroll area — not only from a field of the page: the page itself, and a wizard it
        shows (those pages say so). Letters and other keys stay where the keyboard is."""
        return [self]

    def unsaved_input(self) -> bool:
        """Whether something typed here is not saved: Escape then asks before leaving."""
        return self.typed_values() is not None

    def ask_to_leave(self, leave: Callable[[], Awaitable[None]]) -> None:
        """Escape with unsaved input: ask first; ``leave()`` (back, what was typed dropped)
        only when confirmed. A page with a wizard asks the wizard's own question instead."""
        from tui.widgets.dialogs import ConfirmDialog

        async def answered(yes: bool | None) -> None:
            if yes:
                await leave()

        t = self.ctx.t
        self.app.push_screen(
            ConfirmDialog(t("leave.question"), t("leave.yes"), t("leave.no")), answered
        )

    def show_error(self, exc: BaseException) -> None:
        self.notify(error_text(exc, self.ctx.lang), severity="error")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self._loading_since = None  # what failed may be the data waited for (a search)
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)
