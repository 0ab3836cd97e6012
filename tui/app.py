"""The Expedito app: login, qualité choice, the portal shell; languages, help, quit.

``run_app(startup)`` is what ``expedito`` calls (``tui.startup``: the command line, read once).

The back office (``tui.backoffice``): unless ``--no-serve`` the app runs the sync worker,
the SFTP server and the batch intake in its own process, from the moment the store is open
until it ends. The header's countdown is refreshed each second, just after the wall clock's
whole second (one event-loop callback, ``_schedule_tick``); when a cycle
completes the app receives ``SyncCompleted`` and calls ``sync_completed(notice)`` on the
portal's pages (``screens.base.Page``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual.actions import ActionParseResult
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.driver import Driver
from textual.reactive import var

from screens.login import LoginScreen
from sync.schedule import Clock, Schedule
from tui.backoffice import (
    BackOffice,
    BackOfficeStarted,
    ConfigFactory,
    SyncCompleted,
    SyncNotice,
    SyncStatus,
)
from tui.commands import PortalCommands
from tui.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator
from tui.i18n.bindings import describe
from tui.keymap import Keymap
from tui.widgets import frame_colours

log = logging.getLogger("expedito.app")

if TYPE_CHECKING:  # store, pages and the shell load after the first paint
    from screens.base import Page
    from store.db import Target
    from store.dto import RoleInfo, SessionInfo
    from tui.context import AppContext, PortalApp
    from tui.shell import PortalScreen
    from tui.startup import Startup

ANSI_THEME = "ansi-dark"
TICK_AFTER = 0.002  # the countdown ticks this long after the whole second (its text changed)


@runtime_checkable
class HasHelp(Protocol):
    """A screen with help of its own for F1 (the login, the qualité choice, the portal)."""

    def help_text(self, t: Translator) -> tuple[str, str]: ...


def wants_ansi_theme(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """16 colours (``TEXTUAL_COLOR_SYSTEM=standard``): use the ANSI theme.

    ``NO_COLOR`` is left to Textual, which turns the default theme into shades of grey."""
    return environ.get("TEXTUAL_COLOR_SYSTEM") == "standard"


class ExpeditoApp(App[None]):
    CSS_PATH = ["styles/app.tcss", "styles/portal_pages.tcss", "styles/focus.tcss"]
    TITLE = "Expedito"
    # Ours only: Textual's own (Theme, Keys, Screenshot…) speak English and would change
    # the colours 16-colour terminals rely on.
    COMMANDS = {PortalCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("f1", "help", "Aide", id="app.help"),
        Binding("f2", "next_language", "Langue", id="app.language"),
        Binding("f10", "quit", "Quitter", id="app.quit"),
        Binding("ctrl+q", "quit", "Quitter", id="app.quit_ctrl", show=False, priority=True),
        Binding(
            "ctrl+p", "command_palette", "Commandes", id="app.palette", show=False, priority=True
        ),
    ]

    sync_status: var[SyncStatus] = var(SyncStatus("", ""))
    """The countdown (``#countdown`` in the header); set with ``set_sync_status``. A ``var``:
    set each second, it repaints nothing itself (a ``reactive`` of the app repainted the
    whole screen each second); each header that can be seen repaints its countdown's cells."""

    def __init__(
        self,
        db_path: Target | None = None,
        demo: bool = False,
        ansi: bool | None = None,
        serve: bool = False,
        open_store: Callable[[], Target] | None = None,
        service_config: ConfigFactory | None = None,
        clock: Clock | None = None,
        schedule: Schedule | None = None,
        keymap: Keymap | None = None,
    ) -> None:
        """``open_store`` opens the database; it runs in a thread once the login screen is
        painted (``None``: the store is already open, as in tests).

        ``serve``: run the back-office services here, configured by ``service_config(db
        path)``, once the store is open. ``clock`` and ``schedule`` drive the countdown (and
        the worker, unless the configuration names its own clock); tests pass one that
        moves only when told (``tests.support.clock.FakeClock``). ``keymap``: the operator's
        own keys (``tui.keymap``), its problems said in one line once the login screen shows."""
        frame_colours.install()  # each widget's background once a frame (its docstring)
        super().__init__()
        self.keymap = keymap if keymap is not None else Keymap()
        if self.keymap.keys:
            self.set_keymap(self.keymap.keys)
        self.db_path = db_path
        self.demo = demo
        self._open_store = open_store
        self.store_ready = threading.Event()
        self.store_error: str | None = None  # why the database cannot be used (one line)
        if open_store is None:
            self.store_ready.set()
        self.serve = serve
        self.back_office = BackOffice(serve, service_config, clock, schedule)
        self.last_sync: SyncNotice | None = None
        self.lang = DEFAULT_LANGUAGE
        self.ctx: AppContext | None = None
        self._ansi = wants_ansi_theme() if ansi is None else ansi
        self._quitting = False
        self._tick_handle: asyncio.TimerHandle | None = None  # the countdown's next tick
        self._tick_failed = False
        self.unexpected_errors: list[Exception] = []
        """Exceptions ``unexpected_error`` kept the session through (tests assert none)."""

    # --- start --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._ansi:
            self.theme = ANSI_THEME
        if self.keymap.problems:
            self.notify(
                self.t(
                    "keymap.problems",
                    path=str(self.keymap.path or ""),
                    problems="; ".join(self.keymap.problems),
                ),
                severity="warning",
                timeout=20,
            )
        self.tick_countdown()
        self._schedule_tick()  # the only timer: 1 Hz
        if self.store_ready.is_set():
            self._start_back_office()

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver; on Linux, one whose input thread sleeps until input comes instead
        of waking ten times a second (``tui.quiet_driver``; issue 18)."""
        driver_class = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver_class is LinuxDriver:
            from tui.quiet_driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver_class

    def get_default_screen(self) -> LoginScreen:
        """The login screen is the first screen (no blank screen painted before it)."""
        return LoginScreen(self.lang, demo=self.demo)

    def start_store(self) -> None:
        """Open the store in a thread (called once the first screen is painted)."""
        if not self.store_ready.is_set() and self._open_store is not None:
            self.run_worker(
                self._open_store_thread,
                thread=True,
                exclusive=True,
                exit_on_error=False,
                group="store",
            )

    def _open_store_thread(self) -> None:
        assert self._open_store is not None
        try:
            self.db_path = self._open_store()
        except Exception as exc:
            from store.db import DatabaseUnavailable

            known = isinstance(exc, DatabaseUnavailable)
            if not known:
                log.exception("the database could not be opened")
            self.store_error = (
                f"expedito: {exc}"
                if known
                else f"expedito: unexpected error: {type(exc).__name__}: {exc}"
            )
            self.call_from_thread(self._store_failed)
            return
        self.store_ready.set()
        self.call_from_thread(self._store_opened)

    def _store_failed(self) -> None:
        """The database cannot be used: the login screen shows why (the line the command
        line would print), instead of "Vérification…"; quitting prints it and exits 1."""
        for screen in self.screen_stack:
            if isinstance(screen, LoginScreen) and self.store_error is not None:
                screen.store_failed(self.store_error)

    def _store_opened(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, LoginScreen):
                screen.store_opened()
        self._start_back_office()

    # --- the back office: services, countdown, cycles -----------------------------------------

    def _start_back_office(self) -> None:
        if self.back_office.serve:
            self.run_worker(
                self._start_services_thread,
                thread=True,
                exclusive=True,
                exit_on_error=False,
                group="services",
            )

    def _start_services_thread(self) -> None:
        # post_message, not call_from_thread: thread-safe and it does not wait for this
        # loop (which may be stopping, with the app waiting for the services to stop)
        self.back_office.start(
            self.db_path, lambda notice: self.post_message(SyncCompleted(notice))
        )
        self.post_message(BackOfficeStarted(self.back_office.sftp_error))

    def on_back_office_started(self, event: BackOfficeStarted) -> None:
        if event.error is not None:
            self.notify(
                self.t("sync.sftp_failed", error=str(event.error)), severity="warning", timeout=10
            )
        self.tick_countdown()

    def _schedule_tick(self) -> None:
        """The countdown's tick, just after the next whole second of the wall clock, when its
        text changes (a Textual interval ticked at whatever phase the app started: the text
        changed up to a second late), called by the event loop itself, not by a task of its
        own."""
        loop = asyncio.get_running_loop()
        delay = 1.0 - time.time() % 1.0 + TICK_AFTER
        self._tick_handle = loop.call_at(loop.time() + delay, self._on_tick)

    def _on_tick(self) -> None:
        self._tick_handle = None
        if self._exit or self._closing or self._closed:
            return
        with self._context():
            try:
                self.tick_countdown()
            except Exception as error:  # said once, not each second; the tick goes on
                if not self._tick_failed:
                    self.unexpected_error(error)
                self._tick_failed = True
            else:
                self._tick_failed = False
        self._schedule_tick()

    def tick_countdown(self) -> None:
        """Each second: the countdown text (the header's ``#countdown``); without the worker
        in this process, a look at whether another process finished the last slot."""
        self.sync_status = self.back_office.countdown(self.t)
        if self.store_ready.is_set() and (slot := self.back_office.poll_due()) is not None:
            self.run_worker(
                partial(self._check_slot_thread, slot),
                thread=True,
                exclusive=True,
                exit_on_error=False,
                group="sync-poll",
            )

    def _check_slot_thread(self, slot: datetime) -> None:
        notice = self.back_office.check_slot(slot)
        if notice is not None:
            self.post_message(SyncCompleted(notice))

    def on_sync_completed(self, event: SyncCompleted) -> None:
        self.last_sync = event.notice
        self.tick_countdown()
        portal = self._portal()
        if portal is not None:
            portal.sync_completed(event.notice)

    async def on_unmount(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        await asyncio.to_thread(self.back_office.stop)

    def set_sync_status(self, text: str, short: str | None = None) -> None:
        """Show ``text`` in the header's ``#countdown`` slot (every screen's header); ``short``
        where ``text`` and the title do not both fit."""
        self.sync_status = SyncStatus(text, text if short is None else short)

    # --- the guard: an unexpected exception does not end the session ------------------------

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Every key's action runs here: one that raises is reported, and the app goes on
        (Textual would end it, and over SSH drop the operator to the shell)."""
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as error:
            self.unexpected_error(error)
            return True

    def unexpected_error(self, error: Exception) -> None:
        """Say in one line that something failed, keep the traceback in Textual's log (and
        the list tests look at), and keep the session."""
        self.unexpected_errors.append(error)
        self.log.error("".join(traceback.format_exception(error)))
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        self.notify(self.t("error.kept_session", detail=detail), severity="error", timeout=15)

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    # --- login, qualité -----------------------------------------------------------------------

    def on_login_screen_logged_in(self, event: LoginScreen.LoggedIn) -> None:
        session = event.session
        if session.person.language in LANGUAGES:
            self._set_lang(session.person.language)
        if not session.roles:
            self.notify(self.t("login.no_role"), severity="error")
            return
        from store.scope_search import prepare

        # A manager of many organisations: their search's scope built in the background now,
        # while they choose a qualité and open the page (nothing for the others).
        prepare(session.person.id, sum(role.is_manager for role in session.roles))
        if len(session.roles) == 1:
            self.start_portal(session, session.roles[0])
            return
        from screens.qualite_choice import QualiteChoiceScreen

        def chosen(role: RoleInfo | None) -> None:
            if role is not None:
                self.start_portal(session, role)

        self.push_screen(QualiteChoiceScreen(session.roles, self.lang), chosen)

    def start_portal(self, session: SessionInfo, role: RoleInfo) -> None:
        from tui.context import AppContext
        from tui.shell import PortalScreen

        self.ctx = AppContext(session, role, self.lang, demo=self.demo)
        self.push_screen(PortalScreen(self.ctx))  # on top of the login screen

    def _portal(self) -> PortalScreen | None:
        from tui.shell import PortalScreen

        for screen in self.screen_stack:
            if isinstance(screen, PortalScreen):
                return screen
        return None

    def portal_pages(self) -> tuple[str, ...]:
        portal = self._portal()
        return portal.sidebar_pages if portal is not None else ()

    def has_other_qualites(self) -> bool:
        return self.ctx is not None and len(self.ctx.session.roles) > 1

    def action_switch_qualite(self) -> None:
        portal = self._portal()
        if portal is None or self.ctx is None:
            return
        from screens.qualite_choice import QualiteChoiceScreen

        async def chosen(role: RoleInfo | None) -> None:
            if role is not None and self.ctx is not None:
                self.ctx = self.ctx.with_role(role).with_language(self.lang)
                await portal.set_context(self.ctx)

        ctx = self.ctx
        self.push_screen(
            QualiteChoiceScreen(ctx.session.roles, self.lang, current=ctx.qualite.id), chosen
        )

    def on_page_context_changed(self, event: Page.ContextChanged) -> None:
        if self.ctx is not None:
            self.ctx = event.ctx.with_language(self.lang)

    def on_page_session_stale(self, event: Page.SessionStale) -> None:
        self.log_out("session.stale")

    def log_out(self, reason_key: str | None = None) -> None:
        """Back to the login page (a session made stale by a password change elsewhere)."""
        portal = self._portal()
        if portal is None:
            return
        self.ctx = None
        while len(self.screen_stack) > 1 and not isinstance(self.screen, LoginScreen):
            self.pop_screen()  # dialogs, the portal: the login screen is below them
        if isinstance(self.screen, LoginScreen):
            self.screen.reset(self.lang)
        if reason_key:
            self.notify(self.t(reason_key), severity="warning", timeout=10)

    # --- navigation ---------------------------------------------------------------------------

    async def action_home(self) -> None:
        await self.open_page("accueil")

    async def open_page(self, page_id: str) -> None:
        portal = self._portal()
        if portal is None:
            return
        while self.screen is not portal:
            self.pop_screen()
        await portal.open_page(page_id)

    async def open_person(self, qualite_id: int, person_id: int) -> bool:
        portal = self._portal()
        if portal is None or self.ctx is None:
            return False
        role = next((r for r in self.ctx.session.roles if r.qualite.id == qualite_id), None)
        if role is None:
            return False
        if role.qualite.id != self.ctx.qualite.id:
            self.ctx = self.ctx.with_role(role).with_language(self.lang)
            await portal.set_context(self.ctx)
        await self.open_page("utilisateurs")
        from screens.utilisateurs import UtilisateursPage

        if isinstance(page := portal.page, UtilisateursPage):
            page.select_person(person_id)
        return True

    def action_help(self) -> None:
        from tui.widgets.dialogs import HelpDialog

        if isinstance(self.screen, HelpDialog):
            return
        if isinstance(self.screen, HasHelp):
            title, body = self.screen.help_text(self.t)
        else:
            title, body = self.t("help.title"), ""
        keys = self.keys_text()
        self.push_screen(HelpDialog(title, "\n\n".join(p for p in (body, keys) if p)))

    def keys_text(self) -> str:
        """The keys of where the person is — the page's and the app's, as the keymap set
        them — one a line, then how to move around."""
        seen: set[str] = set()
        lines: list[str] = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if (
                not enabled
                or binding.action in seen
                or not (binding.show or binding.id in ("app.palette", "shell.back"))
            ):
                continue
            seen.add(binding.action)
            keys = ", ".join(
                self.get_key_display(b)
                for _n, b, _e, _t in self.screen.active_bindings.values()
                if b.action == binding.action
            )
            lines.append(f"{keys:<12} {describe(binding, self.lang)}")
        return "\n".join([self.t("help.keys_heading"), *lines, "", self.t("help.navigation")])

    # --- languages ----------------------------------------------------------------------------

    async def action_language(self, lang: str) -> None:
        """Switch the interface language; remembered for the logged-in person."""
        if lang not in LANGUAGES:
            return
        self._set_lang(lang)
        self.tick_countdown()
        for screen in self.screen_stack:
            if isinstance(screen, LoginScreen):
                screen.set_language(lang)
            screen.refresh_bindings()
        portal = self._portal()
        if self.ctx is not None:
            self.ctx = self.ctx.with_language(lang)
            if portal is not None:
                await portal.set_context(portal.ctx.with_language(lang))
            self.remember_language(self.ctx.person.id, lang)

    async def action_next_language(self) -> None:
        await self.action_language(LANGUAGES[(LANGUAGES.index(self.lang) + 1) % len(LANGUAGES)])

    def _set_lang(self, lang: str) -> None:
        self.lang = lang

    def remember_language(self, person_id: int, lang: str) -> None:
        self.run_worker(
            lambda: _store_language(person_id, lang),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="language",
        )

    # --- quit ---------------------------------------------------------------------------------

    def action_command_palette(self) -> None:
        """Ctrl+P: the palette, in the user's language."""
        from tui.commands import PortalCommandPalette

        if self.use_command_palette and not isinstance(self.screen, PortalCommandPalette):
            self.push_screen(PortalCommandPalette(self.t))

    def action_help_quit(self) -> None:
        """Ctrl+C (which copies): say which key quits, in the user's language."""
        quits = [a.binding for a in self.active_bindings.values() if a.binding.action == "quit"]
        quits.sort(key=lambda binding: not binding.show)  # the footer's (F10) first
        if quits:
            display = self.get_key_display(quits[0])
            self.notify(self.t("quit.hint", key=display), title=self.t("quit.hint_title"))

    async def action_quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True

        def answered(yes: bool | None) -> None:
            self._quitting = False
            if yes:
                self.exit()

        from tui.widgets.dialogs import ConfirmDialog

        t = self.t
        self.push_screen(ConfirmDialog(t("quit.question"), t("quit.yes"), t("quit.no")), answered)


if TYPE_CHECKING:
    _PAGES_SEE_IT_AS: type[PortalApp] = ExpeditoApp  # mypy: the app is what pages ask of it


def _store_language(person_id: int, lang: str) -> None:
    from store.access import set_language

    set_language(person_id, lang)


def startup_app(
    startup: Startup, clock: Clock | None = None, keymap: Keymap | None = None
) -> ExpeditoApp:
    """The app as the command line asks (``tui.startup``): it opens the store in a thread once
    the login screen is painted; its countdown, its pages and the services it runs share
    ``startup.schedule``. ``clock``: tests freeze the time. ``keymap``: the operator's keys
    (``tui.keymap.load_keymap()``)."""
    return ExpeditoApp(
        demo=startup.demo,
        serve=startup.serve,
        open_store=startup.open_store,
        service_config=startup.service_config,
        clock=clock,
        schedule=startup.schedule,
        keymap=keymap,
    )


def run_app(startup: Startup) -> int:
    """Run the app the command line asks for; stop its services when it ends."""
    from sync.memory import map_large_blocks_apart
    from tui.keymap import load_keymap

    map_large_blocks_apart()  # each password check's 16 MiB given back (sync/memory.py)
    app = startup_app(startup, keymap=load_keymap())
    try:
        app.run(mouse=startup.mouse)
    finally:
        app.back_office.stop()
    if app.store_error is not None:
        print(app.store_error, file=sys.stderr)
        return 1
    return app.return_code or 0
