"""*Personne de contact*: view it, and (local managers) modify it with the wizard's form."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Static

from screens.base import Page
from screens.forms import ReloadWhenUntouched
from screens.wizard.contact_form import ContactForm, contact_values
from store.dto import Overview
from store.errors import ExpeditoError, ValidationErrors
from store.rules import ContactData


class ContactPage(ReloadWhenUntouched, Page):
    KEEP_ON_LANGUAGE_CHANGE = False
    DEFAULT_CSS = """
    ContactPage #contact-body { height: auto; }
    ContactPage #contact-save { margin-top: 1; }
    """
    BINDINGS = [
        Binding("f7", "save", "Enregistrer", id="contact.save"),
    ]

    class Saved(Message):
        def __init__(self, contact: ContactData | None, error: ExpeditoError | None) -> None:
            super().__init__()
            self.contact, self.error = contact, error

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.contact.title"), classes="page-title", markup=False)
        yield Vertical(id="contact-body")

    def on_mount(self) -> None:
        self.load()

    def fetch(self) -> Overview | None:
        from store.senders import overview

        return overview(self.ctx.person.id, self.ctx.qualite.id)

    async def show(self, overview: Overview | None) -> None:
        contact = overview.contact if overview is not None else None
        if contact is not None and self.refill(contact_values(contact), rows=False):
            return
        body = self.query_one("#contact-body", Vertical)
        await body.remove_children()
        if overview is None:
            await body.mount(Static(self.t("messages.no_sender"), classes="notice", markup=False))
            return
        manager = self.ctx.is_manager
        await body.mount(ContactForm(self.ctx.t, overview.contact, read_only=not manager))
        if manager:
            await body.mount(
                Button(self.t("contact.save"), id="contact-save", variant="primary", compact=True)
            )
        else:
            await body.mount(
                Static(
                    self.t("contact.read_only"),
                    classes="notice",
                    id="managers-only",
                    markup=False,
                )
            )
        self.screen.refresh_bindings()
        self.remember_loaded()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.ctx.is_manager and bool(self.query(ContactForm))
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "contact-save":
            event.stop()
            self.action_save()

    def action_save(self) -> None:
        forms = self.query(ContactForm)
        if not forms or not self.ctx.is_manager:
            return
        contact = forms.first().check()
        if contact is not None:
            self.saving()
            self.save(contact)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def save(self, contact: ContactData) -> None:
        from store.senders import update_contact

        try:
            saved = update_contact(self.ctx.person.id, self.ctx.qualite.id, contact)
        except ExpeditoError as exc:
            self.post_message(self.Saved(None, exc))
            return
        self.post_message(self.Saved(saved, None))

    def on_contact_page_saved(self, message: Saved) -> None:
        if message.error is None:
            self.saved()
            self.notify(self.t("contact.saved"))
            return
        if isinstance(message.error, ValidationErrors) and self.query(ContactForm):
            self.query_one(ContactForm).show_errors(message.error.errors)
            return
        self.show_error(message.error)
