"""*Modifier mes données personnelles*: title, names, language, e-mail, phone.

Checked as typed (required fields, e-mail, phone) and again by the service; each error is
shown next to its field. A new language switches the interface at once (the app's
``language`` action, as the header's NL | FR | DE | EN links do).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from screens.base import Page
from screens.forms import (
    FieldRow,
    FormFailed,
    ReloadWhenUntouched,
    RuleValidator,
    SaveOnEnter,
    StatusLine,
    check_inputs,
    clear_errors,
    field_value,
    report,
    required,
)
from store.dto import PersonInfo, SessionInfo
from store.errors import ExpeditoError
from store.personal import PersonalData
from store.rules import FIELD_MAX, TITLES, check_email, check_phone
from tui.formatting import person_title
from tui.i18n import LANGUAGE_NAMES, LANGUAGES
from tui.widgets.select import PortalSelect


def _optional_phone(value: str) -> None:
    if value.strip():
        check_phone(value)


class DonneesPersonnellesPage(SaveOnEnter, ReloadWhenUntouched, Page):
    class Saved(Message):
        def __init__(self, session: SessionInfo) -> None:
            super().__init__()
            self.session = session

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.donnees_personnelles.title"), classes="page-title", markup=False)
        yield Vertical(id="personal-body")
        yield StatusLine("personal-status")

    def on_mount(self) -> None:
        self.load()

    def fetch(self) -> PersonInfo:
        from store.access import session_for

        return session_for(self.ctx.person.id).person

    async def show(self, p: PersonInfo) -> None:
        t, lang = self.ctx.t, self.ctx.lang
        rules = {
            "first_name": required,
            "last_name": required,
            "email": lambda v: check_email(v) if v.strip() else required(v),
            "phone": _optional_phone,
        }

        def text(name: str, value: str) -> FieldRow:
            return FieldRow(
                t(f"personal.{name}") + (" *" if name != "phone" else ""),
                Input(
                    value,
                    id=name,
                    compact=True,
                    max_length=FIELD_MAX,
                    validators=[RuleValidator(rules[name], lang)],
                    validate_on=["blur", "submitted"],
                ),
                name,
            )

        title = p.title if p.title in TITLES else TITLES[0]
        language = p.language if p.language in LANGUAGES else self.ctx.lang
        if self.refill(
            {
                "title": title,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "language": language,
                "email": p.email,
                "phone": p.phone,
            }
        ):
            return
        body = self.query_one("#personal-body", Vertical)
        await body.remove_children()
        await body.mount_all(
            [
                Static(t("personal.login", login=p.login), id="personal-login", markup=False),
                FieldRow(
                    t("personal.title") + " *",
                    PortalSelect(
                        [(person_title(t, code), code) for code in TITLES],
                        value=title,
                        allow_blank=False,
                        compact=True,
                        id="title",
                    ),
                    "title",
                ),
                text("first_name", p.first_name),
                text("last_name", p.last_name),
                FieldRow(
                    t("personal.language") + " *",
                    PortalSelect(
                        [(LANGUAGE_NAMES[code], code) for code in LANGUAGES],
                        value=language,
                        allow_blank=False,
                        compact=True,
                        id="language",
                    ),
                    "language",
                ),
                text("email", p.email),
                text("phone", p.phone),
                Static(t("portal_form.required"), classes="hint", markup=False),
                Button(t("portal_form.save"), id="save", variant="primary", compact=True),
            ]
        )
        self.remember_loaded()

    def save(self) -> None:
        self.query_one(StatusLine).show("")
        if check_inputs(self):
            self.saving()
            self.store(
                PersonalData(
                    **{name: field_value(self, name) for name in PersonalData.__dataclass_fields__}
                )
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def store(self, data: PersonalData) -> None:
        from store.access import session_for
        from store.personal import update_personal_data

        try:
            update_personal_data(self.ctx.person.id, data)
        except ExpeditoError as exc:
            self.post_message(FormFailed(exc))
            return
        self.post_message(self.Saved(session_for(self.ctx.person.id)))

    def on_form_failed(self, message: FormFailed) -> None:
        report(self, message.error, self.ctx.t, self.query_one(StatusLine))

    def on_donnees_personnelles_page_saved(self, message: Saved) -> None:
        clear_errors(self)
        self.saved()
        language = message.session.person.language
        self.context_changed(self.ctx.refreshed(message.session))
        if language != self.ctx.lang and language in LANGUAGES:
            # The app switches the interface (the shell builds this page again in the new
            # language, so the confirmation goes in a notification).
            self.app.call_later(self.app.run_action, f"app.language('{language}')")
            self.app.notify(self.ctx.with_language(language).tr("personal.saved"), timeout=6)
            return
        self.query_one(StatusLine).show(self.t("personal.saved"))
