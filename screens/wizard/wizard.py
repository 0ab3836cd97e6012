"""The wizard: *Création d'un utilisateur technique* (a first channel, with the contact person
and, the first time, the technical user), *Ajout d'un canal* and a channel's modification.

One widget, a ``ContentSwitcher`` and a ``step`` reactive; ``check_action`` greys out
Précédent on the first step and swaps Suivant for Confirmer on the last. Every check that needs
the database or the file system runs in a thread worker; nothing is stored before Confirmer,
and then all of it in one transaction (``store.senders``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, Input, Static
from textual.worker import Worker, WorkerState

from screens import sync_time
from screens.wizard.channel_form import ChannelForm
from screens.wizard.contact_form import ContactForm
from screens.wizard.credential_field import (
    SSH_KEY,
    CredentialField,
    LoadedCredential,
    current_credential,
    key_for_service,
    key_summary,
    load_credential,
)
from screens.wizard.setup import ADD, REGISTER, WizardSetup
from screens.wizard.steps import (
    USERNAME_FIELDS,
    InformationStep,
    UsernameForm,
    confirmation_text,
)
from store.dto import CertificateSummary, ChannelInput
from store.errors import ExpeditoError, ValidationError, ValidationErrors
from store.rules import ContactData
from tui.context import AppContext
from tui.i18n import error_text
from tui.widgets.dialogs import ConfirmDialog

INFO, CONTACT, CHANNEL, USER, CONFIRM = (
    "information",
    "contact",
    "channel",
    "user",
    "confirmation",
)
CRUMB_OF = {INFO: INFO, CONTACT: CONTACT, CHANNEL: CHANNEL, USER: CHANNEL, CONFIRM: CONFIRM}
CONTACT_FIELDS = frozenset(
    {
        "last_name",
        "first_name",
        "title",
        "function",
        "language",
        "phone",
        "fax",
        "mobile",
        "email1",
        "email2",
        "email3",
        "emails",
    }
)
USER_FIELDS = frozenset({"username", "username_confirm"})


@dataclass(frozen=True)
class Checked:
    """What the wizard's checks accepted on the way to the *Confirmation*."""

    contact: ContactData | None = None
    channel: ChannelInput | None = None
    certificate: CertificateSummary | None = None
    username: str | None = None


@dataclass(frozen=True)
class WizardDraft:
    """What a wizard holds, to build it again in another language without losing anything
    typed (``Wizard.draft``): the setup with the values as entered, the step, the technical
    user's name as typed, the credential fields typed but not loaded yet, and what the checks
    accepted (so the *Confirmation* shows it all again)."""

    setup: WizardSetup
    step: str
    username: tuple[str, str] | None = None
    typed: Mapping[str, str] = field(default_factory=dict)
    checked: Checked = field(default_factory=Checked)


class Wizard(Widget):
    DEFAULT_CSS = """
    Wizard { height: 1fr; }
    Wizard #wizard-title { text-style: bold; color: $primary; }
    Wizard #wizard-breadcrumb { margin-bottom: 0; color: $text-muted; }
    Wizard #wizard-scroll { height: 1fr; }
    Wizard ContentSwitcher { height: auto; }
    Wizard #wizard-buttons { height: auto; dock: bottom; background: $boost; }
    Wizard #wizard-buttons Button { margin-right: 1; }
    Wizard #wizard-status { height: auto; color: $text-muted; }
    """
    BINDINGS = [
        Binding("f6", "previous", "Précédent", id="wizard.previous"),
        Binding("f7", "next", "Suivant", id="wizard.next"),
        Binding("f7", "confirm", "Confirmer", id="wizard.confirm"),
        Binding("f8,escape", "cancel", "Annuler", id="wizard.cancel"),
        # F9 from anywhere on the channel's step (a file field has its own, for itself)
        Binding("f9", "browse", "Parcourir", id="wizard.browse"),
    ]

    step: reactive[str] = reactive(INFO, init=False)

    class Done(Message):
        """Confirmer stored it all; ``result`` is what the service returned."""

        def __init__(self, mode: str, kind: str, result: Any) -> None:
            super().__init__()
            self.mode, self.kind, self.result = mode, kind, result

    class Cancelled(Message):
        """Annuler, confirmed: nothing was stored."""

    class _Checked(Message):
        """A step checked; for the channel, the channel as checked (its key parsed), which
        Confirmer saves as it is."""

        def __init__(
            self,
            step: str,
            errors: list[ValidationError],
            loaded: Mapping[str, LoadedCredential] | None = None,
            certificate: CertificateSummary | None = None,
            channel: ChannelInput | None = None,
            key_summary: str = "",
        ) -> None:
            super().__init__()
            self.step, self.errors = step, errors
            self.loaded = dict(loaded or {})
            self.certificate = certificate
            self.channel, self.key_summary = channel, key_summary

    class _Failed(Message):
        def __init__(self, error: ExpeditoError) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        ctx: AppContext,
        setup: WizardSetup,
        id: str = "wizard",
        draft: WizardDraft | None = None,
    ) -> None:
        """``draft``: start from what another wizard held (``draft()``), in ``ctx``'s
        language, at its step (the *Confirmation* too, showing the same)."""
        super().__init__(id=id)
        self.ctx = ctx
        self.setup = draft.setup if draft is not None else setup
        self.draft_from = draft
        self.t = ctx.t
        self.steps = self._steps()
        checked = draft.checked if draft is not None else Checked(contact=setup.contact)
        self.contact: ContactData | None = checked.contact
        self.channel: ChannelInput | None = checked.channel
        self.certificate: CertificateSummary | None = checked.certificate
        self.username: str | None = checked.username
        first = self.steps[0]
        if draft is not None and draft.step in self.steps:
            first = draft.step
            if first == CONFIRM and self.channel is None:  # never an empty Confirmation
                first = self.steps[-2]
        self.set_reactive(Wizard.step, first)
        self.key_summary = ""  # as checked (the confirmation says it in its language)
        self.busy = False

    def _steps(self) -> tuple[str, ...]:
        mode = self.setup.mode
        if mode == REGISTER:
            user = () if self.setup.existing_username else (USER,)
            return (INFO, CONTACT, CHANNEL, *user, CONFIRM)
        if mode == ADD:
            return (INFO, CHANNEL, CONFIRM)
        return (CHANNEL, CONFIRM)

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        t, setup = self.t, self.setup
        yield Static(t(f"wizard.title.{setup.mode}"), id="wizard-title", markup=False)
        yield Static(id="wizard-breadcrumb")
        with VerticalScroll(id="wizard-scroll"):
            with ContentSwitcher(initial=self.step):
                if INFO in self.steps:
                    paragraphs = ["wizard.info.1", "wizard.info.2", "wizard.info.3"]
                    if setup.existing_username:
                        paragraphs.append("wizard.info.existing")
                    if setup.mode == ADD:
                        paragraphs = ["wizard.info.1", "wizard.info.2", "wizard.info.add"]
                    yield InformationStep(
                        t, paragraphs, id=INFO, name=setup.existing_username or ""
                    )
                if CONTACT in self.steps:
                    yield ContactForm(t, setup.contact, id=CONTACT)
                yield ChannelForm(
                    t,
                    setup.kind,
                    setup.applications,
                    setup.rivals,
                    setup.channel,
                    setup.loaded,
                    id=CHANNEL,
                )
                if USER in self.steps:
                    yield UsernameForm(t, id=USER)
                yield Static(id=CONFIRM, markup=False)
            yield Static(id="wizard-status", markup=False)
        with Horizontal(id="wizard-buttons"):
            yield Button(t("wizard.cancel"), id="wizard-cancel", compact=True)
            yield Button(t("wizard.previous"), id="wizard-previous", compact=True)
            yield Button(t("wizard.next"), id="wizard-next", compact=True, variant="primary")

    def on_mount(self) -> None:
        draft = self.draft_from
        if draft is not None:
            if draft.username is not None and self.query(UsernameForm):
                for name, value in zip(USERNAME_FIELDS, draft.username, strict=True):
                    self.query_one(f"#{name}", Input).value = value
            for credential in self.query(CredentialField):
                if credential.kind in draft.typed:
                    credential.query_one(Input).value = draft.typed[credential.kind]
                elif credential.loaded is not None and credential.loaded.source:
                    credential.load(credential.loaded.source)  # its summary, in the new language
                elif (
                    credential.loaded is not None
                    and credential.loaded.raw
                    and (now := current_credential(credential.kind, credential.loaded.raw, self.t))
                    is not None
                ):  # the channel's
                    credential.show(now)
        self._show_step()

    def draft(self) -> WizardDraft:
        """What this wizard holds now (see ``WizardDraft``)."""
        setup = self.setup
        contacts = self.query(ContactForm)
        channel = self.query_one(ChannelForm)
        users = self.query(UsernameForm)
        return WizardDraft(
            setup=replace(
                setup,
                contact=contacts.first().value() if contacts else setup.contact,
                channel=channel.value(),
                loaded=channel.loaded_credentials(),
            ),
            step=self.step,
            username=users.first().value() if users else None,
            typed={f.kind: f.text for f in channel.credential_fields() if not f.up_to_date},
            checked=Checked(self.contact, self.channel, self.certificate, self.username),
        )

    def _breadcrumb(self) -> Content:
        crumbs = [s for s in (INFO, CONTACT, CHANNEL, CONFIRM) if s in self.steps]
        current = CRUMB_OF[self.step]
        parts = [
            Content.styled(f" {self.t(f'wizard.crumb.{s}')} ", "bold reverse")
            if s == current
            else Content(self.t(f"wizard.crumb.{s}"))
            for s in crumbs
        ]
        return Content(" > ").join(parts)

    def watch_step(self) -> None:
        self._show_step()

    def _show_step(self) -> None:
        step = self.step if self.step in self.steps else self.steps[0]
        self.query_one(ContentSwitcher).current = step
        self.query_one("#wizard-breadcrumb", Static).update(self._breadcrumb())
        first = self.steps.index(step) == 0
        last = step == self.steps[-1]
        self.query_one("#wizard-previous", Button).disabled = first
        self.query_one("#wizard-next", Button).label = self.t(
            "wizard.confirm" if last else "wizard.next"
        )
        self.query_one("#wizard-status", Static).update("")
        if step == CONFIRM:
            self._show_confirmation()
        self.query_one("#wizard-scroll", VerticalScroll).scroll_home(animate=False)
        self.refresh_bindings()
        self.call_after_refresh(self.focus_step)

    def focus_step(self) -> None:
        """Give the keyboard to the step on show — unless the wizard is hidden (built ahead in
        a page not on show): its page calls this again when it is shown."""
        if not all(node.display for node in self.ancestors_with_self if isinstance(node, Widget)):
            return
        step = self.query_one(ContentSwitcher).current
        if step in (CONTACT, CHANNEL, USER):
            form = self.query_one(f"#{step}")
            form.focus_first()  # type: ignore[attr-defined]
        elif step == CONFIRM:
            self.query_one("#wizard-scroll", VerticalScroll).focus()  # arrows read it all
        else:
            self.query_one("#wizard-next", Button).focus()

    # --- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        last = self.step == self.steps[-1]
        if action == "previous":
            return None if self.steps.index(self.step) == 0 else True
        if action == "next":
            return not last
        if action == "confirm":
            return last
        if action == "browse":  # shown only on a step with a file to load
            return self._browse_target() is not None
        return True

    def _browse_target(self) -> CredentialField | None:
        """The file field F9 browses for from elsewhere on the step: the first one with
        nothing (or something refused) loaded, else the first; None on the other steps."""
        if self.step != CHANNEL:
            return None
        fields = list(self.query(CredentialField))  # none while the wizard is composed
        waiting = [f for f in fields if f.loaded is None or f.loaded.error is not None]
        candidates = waiting or fields
        return candidates[0] if candidates else None

    def action_browse(self) -> None:
        target = self._browse_target()
        if target is not None and not self.busy:
            target.action_browse()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "wizard-cancel":
            self.action_cancel()
        elif event.button.id == "wizard-previous":
            self.action_previous()
        elif event.button.id == "wizard-next":
            self.action_confirm() if self.step == self.steps[-1] else self.action_next()

    def _go(self, offset: int) -> None:
        index = self.steps.index(self.step) + offset
        if 0 <= index < len(self.steps):
            self.step = self.steps[index]

    def action_previous(self) -> None:
        if not self.busy:
            self._go(-1)

    def action_cancel(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(self.Cancelled())

        t = self.t
        self.app.push_screen(
            ConfirmDialog(
                t("wizard.cancel_question"), t("wizard.cancel_yes"), t("wizard.cancel_no")
            ),
            answered,
        )

    def action_next(self) -> None:
        if self.busy:
            return
        step = self.step
        if step == CONTACT:
            contact = self.query_one(ContactForm).check()
            if contact is not None:
                self.contact = contact
                self._go(1)
        elif step == CHANNEL:
            form = self.query_one(ChannelForm)
            to_load = {
                f.kind: f.text
                for f in form.credential_fields()
                if not f.up_to_date or (f.loaded is not None and f.loaded.raw is None)
            }
            self._start(self.t("wizard.checking"))
            self._check_channel(form.value(), to_load, form.loaded_credentials())
        elif step == USER:
            name, confirm = self.query_one(UsernameForm).value()
            self._start(self.t("wizard.checking"))
            self._check_username(name, confirm)
        else:
            self._go(1)

    def action_confirm(self) -> None:
        if self.busy:
            return
        if self.channel is None:  # not checked (cannot happen by the steps): check it again
            self._back_to_channel()
            return
        self._start(self.t("wizard.saving"))
        self._save(self.channel, self.contact, self.username)

    def _start(self, status: str) -> None:
        self.busy = True
        self.query_one("#wizard-status", Static).update(status)

    def _stop(self) -> None:
        self.busy = False
        self.query_one("#wizard-status", Static).update("")

    # --- checks in workers --------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="wizard")
    def _check_channel(
        self, channel: ChannelInput, to_load: dict[str, str], current: dict[str, LoadedCredential]
    ) -> None:
        """Load what was typed but not loaded yet, then check the channel as the store will
        (the key parsed once, when loaded)."""
        from store.channels import certificate_summary, check_channel_input

        moment = sync_time.instant(self)
        loaded = {
            kind: load_credential(kind, text, self.t, moment) for kind, text in to_load.items()
        }
        if SSH_KEY in loaded:
            channel = replace(channel, ssh_key=key_for_service(loaded[SSH_KEY]))
        if "certificate" in loaded:
            channel = replace(channel, certificate=loaded["certificate"].raw)
        errors: list[ValidationError] = [
            replace_field(result.error, kind)
            for kind, result in loaded.items()
            if result.error is not None and result.raw is None
        ]
        certificate = None
        try:
            values = check_channel_input(channel, moment)
            der = values.get("certificate")
            certificate = certificate_summary(der) if isinstance(der, bytes) else None
        except ValidationErrors as exc:
            errors += [e for e in exc.errors if not any(e.field == other.field for other in errors)]
        for code in channel.applications:
            if self.setup.rivals.get(code) and channel.preferred_kind(code) is None:
                errors.append(
                    ValidationError("channel.preferred_required", "", "preferred", application=code)
                )
        key = {**current, **loaded}.get(SSH_KEY)
        self.post_message(
            self._Checked(
                CHANNEL,
                errors,
                loaded,
                certificate,
                channel,
                key.summary if key is not None else "",
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="wizard")
    def _check_username(self, name: str, confirm: str) -> None:
        from store.rules import check_username
        from store.senders import username_available

        errors: list[ValidationError] = []
        try:
            check_username(name, confirm)
            if not username_available(name):
                errors.append(ValidationError("username.taken", "", "username", name=name))
        except ValidationError as exc:
            errors.append(exc)
        self.post_message(self._Checked(USER, errors))

    def on_wizard__checked(self, message: _Checked) -> None:
        message.stop()
        self._stop()
        if message.step == CHANNEL:
            form = self.query_one(ChannelForm)
            for credential in form.credential_fields():
                if credential.kind in message.loaded:
                    credential.show(message.loaded[credential.kind])
            if message.errors:
                form.show_errors(message.errors)
                self._say_errors()
                return
            form.clear_errors()
            self.channel = message.channel
            self.certificate = message.certificate
            self.key_summary = message.key_summary
        elif message.step == USER:
            if self.query_one(UsernameForm).show_errors(message.errors):
                self._say_errors()
                return
            self.username = self.query_one(UsernameForm).value()[0]
        self._go(1)

    def _say_errors(self) -> None:
        self.query_one("#wizard-status", Static).update(self.t("wizard.fix_errors"))

    def _back_to_channel(self) -> None:
        """The channel's check is missing: back to its step, saying to go on with F7."""
        self.step = CHANNEL
        self.call_after_refresh(
            self.query_one("#wizard-status", Static).update, self.t("wizard.check_again")
        )

    def _show_confirmation(self) -> None:
        if self.channel is None:
            self.call_later(self._back_to_channel)
            return
        # In this wizard's language (built again after a switch, its fields reload later).
        key = self.query_one(ChannelForm).loaded_credentials().get("ssh_key")
        message = (
            "credential.key_current"
            if key is not None and not key.source
            else "credential.key_loaded"
        )
        summary = key_summary(self.channel.ssh_key, self.t, message) or self.key_summary
        text = confirmation_text(
            self.t,
            contact=self.contact if CONTACT in self.steps else None,
            channel=self.channel,
            certificate=self.certificate,
            key_summary=summary,
            username=self.username if USER in self.steps else None,
            existing_username=self.setup.existing_username if self.setup.mode == REGISTER else None,
            applications=self.setup.applications,
            rivals=self.setup.rivals,
        )
        self.query_one(f"#{CONFIRM}", Static).update(text)

    # --- Confirmer ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="wizard")
    def _save(
        self, channel: ChannelInput, contact: ContactData | None, username: str | None
    ) -> None:
        from store import senders

        actor, qualite = self.ctx.person.id, self.ctx.qualite.id
        now = sync_time.now(self)
        mode = self.setup.mode
        try:
            result: Any
            if mode == REGISTER:
                assert contact is not None
                result = senders.register_sender(
                    actor, qualite, contact, channel, username, username, now=now
                )
            elif mode == ADD:
                result = senders.add_channel(actor, qualite, channel, now=now)
            else:
                result = senders.update_channel(actor, qualite, channel, now=now)
        except ExpeditoError as exc:
            self.post_message(self._Failed(exc))
            return
        self.post_message(self.Done(mode, channel.kind, result))

    def on_wizard__failed(self, message: _Failed) -> None:
        message.stop()
        self._stop()
        error = message.error
        errors = error.errors if isinstance(error, ValidationErrors) else [error]
        fields = {e.field for e in errors}
        if fields & CONTACT_FIELDS and CONTACT in self.steps:
            self.step = CONTACT
            self.call_after_refresh(self.query_one(ContactForm).show_errors, errors)
        elif fields & USER_FIELDS and USER in self.steps:
            self.step = USER
            self.call_after_refresh(self.query_one(UsernameForm).show_errors, errors)
        elif isinstance(error, ValidationError) and any(f for f in fields):
            self.step = CHANNEL
            self.call_after_refresh(self.query_one(ChannelForm).show_errors, errors)
        else:
            self.notify(error_text(error, self.t.lang), severity="error")
            return
        self.call_after_refresh(self._say_errors)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._stop()


async def rebuild_wizard(body: Widget, ctx: AppContext) -> bool:
    """Build the wizard that ``body`` holds again for ``ctx`` (a new language) from its draft,
    nothing typed lost; False when ``body`` holds no wizard."""
    wizards = list(body.query(Wizard))
    if not wizards:
        return False
    old = wizards[0]
    draft = old.draft()
    await body.remove_children()
    await body.mount(Wizard(ctx, draft.setup, id=old.id or "wizard", draft=draft))
    return True


def replace_field(error: ValidationError, field_name: str) -> ValidationError:
    """The same error, attached to ``field_name`` (a file error names no field)."""
    if error.field == field_name:
        return error
    return ValidationError(error.code, error.message, field_name, **error.params)
