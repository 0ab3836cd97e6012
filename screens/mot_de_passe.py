"""*Modifier mon mot de passe*: the current password, the new one twice, the rules on screen.

The service stores it with scrypt and returns this session renewed; the other sessions of the
person, opened before the change, are sent back to the login page when they next open a page
(``Page.check_session``).

The fields are emptied when the page is left (kept across a language switch only), and a
field reached by Tab does not come with its text selected.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Button, Input, Static

from screens.base import Page
from screens.forms import FieldRow, FormFailed, KeepTyped, StatusLine, clear_errors, report
from store.dto import SessionInfo
from store.errors import ExpeditoError
from store.personal import PASSWORD_MIN

FIELDS = ("current", "password", "password_confirm")


class MotDePassePage(KeepTyped, Page):
    class Changed(Message):
        def __init__(self, session: SessionInfo) -> None:
            super().__init__()
            self.session = session

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(t("page.mot_de_passe.title"), classes="page-title", markup=False)
        for name in FIELDS:
            yield FieldRow(
                t(f"password.{name}"),
                Input(id=name, password=True, compact=True, max_length=200, select_on_focus=False),
                name,
            )
        yield Static(
            t("password.rules", min=PASSWORD_MIN), id="password-rules", classes="hint", markup=False
        )
        yield Button(t("password.submit"), id="change", variant="primary", compact=True)
        yield StatusLine("password-status")

    def page_hidden(self) -> None:
        """Nothing typed here outlives the visit: the passwords, their errors, the message."""
        self.workers.cancel_group(self, "change")
        self._clear()
        clear_errors(self)
        self.query_one(StatusLine).show("")

    def _clear(self) -> None:
        for name in FIELDS:
            self.query_one(f"#{name}", Input).value = ""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = FIELDS.index(event.input.id or "current")
        if index < len(FIELDS) - 1:
            self.query_one(f"#{FIELDS[index + 1]}", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "change":
            self.submit()

    def submit(self) -> None:
        clear_errors(self)
        self.query_one(StatusLine).show("")
        values = [self.query_one(f"#{name}", Input).value for name in FIELDS]
        if not values[0]:
            self.query_one("#row-current", FieldRow).set_error(self.t("error.field.required"))
            return
        self.change(*values)

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def change(self, current: str, new: str, confirmation: str) -> None:
        from store.personal import change_password

        try:
            session = change_password(self.ctx.person.id, current, new, confirmation)
        except ExpeditoError as exc:
            self.post_message(FormFailed(exc))
            return
        self.post_message(self.Changed(session))

    def on_form_failed(self, message: FormFailed) -> None:
        report(self, message.error, self.ctx.t, self.query_one(StatusLine))
        self.query_one(
            "#current" if getattr(message.error, "field", "") == "current" else "#password", Input
        ).focus()

    def on_mot_de_passe_page_changed(self, message: Changed) -> None:
        # This session stays valid: the app keeps the renewed one.
        self.context_changed(self.ctx.with_session(message.session))
        self._clear()
        self.query_one(StatusLine).show(self.t("password.changed"))
