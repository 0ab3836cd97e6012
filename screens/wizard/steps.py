"""The wizard's simple steps: *Information*, *Utilisateur technique*, and the *Confirmation*
text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from screens.summary import (
    application_name,
    applications_text,
    certificate_text,
    contact_text,
    kind_label,
    lines,
)
from store.dto import ApplicationInfo, CertificateSummary, ChannelInput
from store.errors import ValidationError
from store.rules import ContactData
from tui.i18n import Translator, error_text

USERNAME_FIELDS = ("username", "username_confirm")


class InformationStep(Widget):
    DEFAULT_CSS = """
    InformationStep { height: auto; }
    InformationStep Static { margin-top: 1; }
    """

    def __init__(self, t: Translator, paragraphs: Iterable[str], id: str, **params: str) -> None:
        super().__init__(id=id)
        self.t = t
        self.paragraphs = tuple(paragraphs)
        self.params = params

    def compose(self) -> ComposeResult:
        for key in self.paragraphs:
            yield Static(self.t(key, **self.params), markup=False)


class UsernameForm(Widget):
    """*Utilisateur technique*: the name twice, and the guide's rules."""

    DEFAULT_CSS = """
    UsernameForm { height: auto; }
    UsernameForm .form-heading { text-style: bold; margin-top: 1; }
    UsernameForm .form-row { height: auto; }
    UsernameForm .form-label { width: 23; }
    UsernameForm Input { width: 1fr; max-width: 30; }
    UsernameForm .field-error { color: $error; text-style: bold; }
    UsernameForm #username-rules { margin-top: 1; }
    """

    def __init__(self, t: Translator, id: str = "user") -> None:
        super().__init__(id=id)
        self.t = t
        self._errors_for: tuple[str, str] | None = None  # what the errors shown were about

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(t("user.heading"), classes="form-heading", markup=False)
        yield Static(t("user.intro"), markup=False)
        for name in USERNAME_FIELDS:
            with Horizontal(classes="form-row"):
                yield Label(t(f"user.label.{name}"), classes="form-label", markup=False)
                yield Input(id=name, compact=True, max_length=40, select_on_focus=False)
            yield Static("", id=f"{name}-error", classes="field-error", markup=False)
        yield Static(t("user.rules"), id="username-rules", markup=False)

    def value(self) -> tuple[str, str]:
        name, confirm = (self.query_one(f"#{f}", Input).value for f in USERNAME_FIELDS)
        return name, confirm

    def show_errors(self, errors: Iterable[ValidationError]) -> bool:
        texts: dict[str, list[str]] = {}
        for error in errors:
            if error.field in USERNAME_FIELDS:
                texts.setdefault(error.field, []).append(error_text(error, self.t.lang))
        self._errors_for = self.value()
        for name in USERNAME_FIELDS:
            self.query_one(f"#{name}-error", Static).update("\n".join(texts.get(name, [])))
        if texts:
            self.query_one(f"#{next(n for n in USERNAME_FIELDS if n in texts)}", Input).focus()
        return bool(texts)

    def on_input_changed(self, event: Input.Changed) -> None:
        """A field whose error shows is checked against the guide's rules as it is typed in:
        the error goes as soon as they hold, or says which one breaks now (whether the name
        is free is asked again at *Suivant*)."""
        from store.rules import check_username

        name, confirm = self.value()
        if (name, confirm) == self._errors_for:  # not changed since (a language switch)
            return
        current: dict[str, str] = {}
        try:
            check_username(name)
        except ValidationError as exc:
            current["username"] = error_text(exc, self.t.lang)
        if confirm != name:
            current["username_confirm"] = error_text(
                ValidationError("username.mismatch", "", "username_confirm"), self.t.lang
            )
        for field in USERNAME_FIELDS:
            error = self.query_one(f"#{field}-error", Static)
            if str(error.render()):
                error.update(current.get(field, ""))

    def focus_first(self) -> None:
        self.query_one("#username", Input).focus()


def confirmation_text(
    t: Translator,
    *,
    contact: ContactData | None,
    channel: ChannelInput,
    certificate: CertificateSummary | None,
    key_summary: str,
    username: str | None,
    existing_username: str | None,
    applications: Iterable[ApplicationInfo],
    rivals: Mapping[str, tuple[str, ...]],
) -> str:
    """Everything entered, as *Confirmation* shows it before *Confirmer*."""
    parts: list[str] = []
    if contact is not None:
        parts.append(t("confirm.contact") + "\n" + contact_text(t, contact))
    pairs = [
        (t("confirm.channel"), kind_label(channel.kind)),
        (t("channel.connection_type"), channel.connection_type),
    ]
    if channel.ssh_key:
        pairs.append((t("channel.ssh_key"), t("confirm.key_loaded")))
    if channel.mq_queue_manager:
        pairs.append((t("channel.mq_queue_manager"), channel.mq_queue_manager))
    if channel.mq_queue:
        pairs.append((t("channel.mq_queue"), channel.mq_queue))
    channel_part = t("confirm.channel_heading") + "\n" + lines(pairs)
    if key_summary:
        channel_part += "\n" + key_summary
    parts.append(channel_part)
    if certificate is not None:
        parts.append(t("confirm.certificate") + "\n" + certificate_text(t, certificate))
    if username or existing_username:
        user_part = (
            t("user.heading")
            + "\n"
            + lines([(t("user.name"), username or existing_username or "")])
        )
        if existing_username and not username:
            user_part += "\n" + t("user.existing")
        parts.append(user_part)
    names = {a.code: application_name(t, a.code, a.name) for a in applications}
    preferred = dict(channel.preferred)
    apps = [
        (
            names.get(code, code),
            preferred.get(code, channel.kind) if rivals.get(code) else channel.kind,
        )
        for code in channel.applications
    ]
    parts.append(t("channel.applications_heading") + "\n" + applications_text(t, apps))
    return "\n\n".join(parts)
