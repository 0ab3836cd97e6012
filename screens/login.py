"""The login page: login and password; the demo logins when the database is the demo one.

A failure never says whether the login or the password was wrong; after repeated failures
``store.access.authenticate`` makes the person wait longer and longer (``login.throttled``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from tui.context import portal_app
from tui.i18n import Translator, error_text
from tui.widgets.footer import PortalFooter
from tui.widgets.key_button import KeyButton
from tui.widgets.portal_header import PortalHeader

if TYPE_CHECKING:
    from store.dto import SessionInfo


class LoginScreen(Screen[None]):
    AUTO_FOCUS = "#login"
    HELP_KEY = "help.login"
    # Tab and Enter are handled here, ahead of the fields (priority), so that keys typed
    # ahead — a password manager typing "login Tab password Enter" at once — go to the field
    # they were meant for: Textual hands a key to the field focused when it arrives, and a
    # field's own Tab or Enter moves the focus only after the keys already on their way.
    BINDINGS = [
        Binding("tab", "next_field", "Champ suivant", show=False, priority=True, id="login.next"),
        Binding(
            "shift+tab",
            "previous_field",
            "Champ précédent",
            show=False,
            priority=True,
            id="login.previous",
        ),
        Binding("enter", "enter", "Se connecter", show=False, priority=True, id="login.enter"),
    ]

    class LoggedIn(Message):
        """Bubbles to the app, which opens the qualité choice or the portal."""

        def __init__(self, session: SessionInfo) -> None:
            super().__init__()
            self.session = session

    class Failed(Message):
        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    def __init__(self, lang: str, demo: bool = False) -> None:
        super().__init__(id="login-screen")
        self.lang = lang
        self.demo = demo
        self._rested: Input | None = None  # the field whose cursor rests while covered

    def compose(self) -> ComposeResult:
        yield PortalHeader(self.lang, home=False)
        with Vertical(id="login-box"):
            yield Static(id="login-title", classes="page-title")
            with Horizontal(classes="field-row"):
                yield Static(id="login-label", classes="field-label", markup=False)
                yield Input(id="login", max_length=100, compact=True)
            with Horizontal(classes="field-row"):
                yield Static(id="password-label", classes="field-label", markup=False)
                yield Input(id="password", password=True, max_length=200, compact=True)
            yield KeyButton(id="login-submit")
            yield Static(id="login-message", classes="error", markup=False)
            if self.demo:
                yield Static(id="demo-logins", markup=False)
        yield PortalFooter()

    def on_mount(self) -> None:
        self.set_language(self.lang)
        # The store opens once this screen is on the terminal.
        self.call_after_refresh(portal_app(self).start_store)

    def on_screen_suspend(self) -> None:
        """Under the portal for the whole session: the focused field's cursor stops blinking
        (its timer woke the app twice a second for a cursor nobody sees: issue 18's idle
        CPU), and blinks again when the screen is back on top."""
        if isinstance(field := self.focused, Input) and field.cursor_blink:
            field.cursor_blink = False
            self._rested = field

    def on_screen_resume(self) -> None:
        if self._rested is not None:
            self._rested.cursor_blink = True
            self._rested = None

    def _store_is_ready(self) -> bool:
        return portal_app(self).store_ready.is_set()

    def store_opened(self) -> None:
        self._show_demo_logins(Translator(self.lang))

    def store_failed(self, message: str) -> None:
        """The database cannot be used: say why, where the login's answer would be."""
        self.query_one("#login-message", Static).update(message)
        self.query_one("#login-submit", KeyButton).disabled = True

    def set_language(self, lang: str) -> None:
        self.lang = lang
        t = Translator(lang)
        self.query_one(PortalHeader).set_language(lang)
        self.query_one("#login-title", Static).update(t("login.title"))
        self.query_one("#login-label", Static).update(t("login.login"))
        self.query_one("#password-label", Static).update(t("login.password"))
        self.query_one("#login-submit", KeyButton).label = t("login.submit")
        self.query_one("#login-message", Static).update("")
        self._show_demo_logins(t)

    def reset(self, lang: str) -> None:
        """Back to an empty form (after a log-out), in ``lang``."""
        self.set_language(lang)
        self.query_one("#login", Input).value = ""
        self.query_one("#password", Input).value = ""
        self.query_one("#login-submit", KeyButton).disabled = False
        self.query_one("#login", Input).focus()

    def _show_demo_logins(self, t: Translator) -> None:
        if not self.demo or not self._store_is_ready():
            return
        from store.demo import DEMO_LOGINS

        lines = [t("login.demo_title", password=DEMO_LOGINS[0].password)]
        lines += [f"  {d.login:<8} {t(f'login.demo.{d.login}')}" for d in DEMO_LOGINS]
        self.query_one("#demo-logins", Static).update("\n".join(lines))

    def help_text(self, t: Translator) -> tuple[str, str]:
        return t("login.title"), t("help.login")

    def action_next_field(self) -> None:
        self.focus_next()  # at once: the next keys go to the field it gives the focus

    def action_previous_field(self) -> None:
        self.focus_previous()

    def action_enter(self) -> None:
        focused = self.focused
        login = self.query_one("#login", Input)
        if focused is login:
            self.set_focus(self.query_one("#password", Input))  # at once, as Tab
        elif focused is not None:
            # After the keys already handed to that field: the whole password, not its start.
            focused.call_later(self.submit)

    def on_key_button_pressed(self, event: KeyButton.Pressed) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        login = self.query_one("#login", Input).value
        password = self.query_one("#password", Input).value
        message = self.query_one("#login-message", Static)
        if not login.strip() or not password:
            message.update(Translator(self.lang)("login.missing"))
            return
        message.update(Translator(self.lang)("login.checking"))
        self.query_one("#login-submit", KeyButton).disabled = True
        self.authenticate(login, password)

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def authenticate(self, login: str, password: str) -> None:
        app = portal_app(self)
        while not app.store_ready.wait(0.1):  # the database opens in the background
            if app.store_error is not None:
                self.app.call_from_thread(self.store_failed, app.store_error)
                return
        from store.access import authenticate
        from store.errors import ExpeditoError

        try:
            session = authenticate(login, password)
        except ExpeditoError as exc:
            self.post_message(self.Failed(exc))
            return
        self.post_message(self.LoggedIn(session))

    def on_login_screen_failed(self, event: Failed) -> None:
        event.stop()
        t = Translator(self.lang)
        wait = getattr(event.error, "params", {}).get("wait", 0)
        text = error_text(event.error, self.lang)
        if getattr(event.error, "code", "") == "login.failed" and wait:
            text += " " + t("login.wait", wait=wait)
        self.query_one("#login-message", Static).update(text)
        self.query_one("#login-submit", KeyButton).disabled = False
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    def on_login_screen_logged_in(self, event: LoggedIn) -> None:
        # Let it bubble to the app; clear what was typed.
        self.query_one("#password", Input).value = ""
        self.query_one("#login-submit", KeyButton).disabled = False
        self.query_one("#login-message", Static).update("")
