"""*Gestion du certificat à utiliser sur le portail de la Sécurité Sociale*: the personal
certificate — the one the person logs into the portal with, not the one that signs batch
files (the page and its refusals say so) — its details (as for a channel's certificate),
loading one from a file (typed path or the keyboard file browser, F6), replacing it and
removing it (confirmed)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from screens.base import Page
from screens.forms import FieldRow, FormFailed, KeepTyped, StatusLine, clear_errors, report
from screens.wizard.file_browser import FileBrowser
from store.credentials import NOT_SPECIFIED
from store.dto import CertificateSummary
from store.errors import ExpeditoError
from tui.widgets.dialogs import ConfirmDialog

DETAILS = ("owner", "company", "issuer", "expiry", "serial_decimal", "serial_hex")


class CertificatPage(KeepTyped, Page):
    BINDINGS = [Binding("f6", "browse", "Parcourir", id="certificate.browse")]

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(t("page.certificat.title"), classes="page-title", markup=False)
        yield Static(t("personal_cert.intro"), id="cert-intro", markup=False)
        yield Vertical(id="cert-details")
        yield Static(
            t("personal_cert.register_title"),
            id="cert-register-title",
            classes="section-title",
            markup=False,
        )
        yield FieldRow(t("personal_cert.file"), Input(id="cert_path", compact=True), "cert_path")
        yield Static(t("personal_cert.file_hint"), classes="hint", markup=False)
        with Horizontal(id="cert-buttons"):
            yield Button(t("personal_cert.browse"), id="browse", compact=True)
            yield Button(
                t("personal_cert.register"), id="register", variant="primary", compact=True
            )
            yield Button(t("personal_cert.remove"), id="remove", variant="error", compact=True)
        yield StatusLine("cert-status")

    has_certificate = False  # one is registered (as last shown): loading another replaces it

    def on_mount(self) -> None:
        self.query_one("#remove", Button).display = False
        self.load()

    def page_shown(self) -> None:
        self.when_settled(self.load)

    def load(self, note: str = "") -> None:
        self.load_and_show(self.fetch, partial(self.show, note=note))

    def fetch(self) -> CertificateSummary | None:
        from store.personal import personal_certificate

        return personal_certificate(self.ctx.person.id)

    async def show(self, summary: CertificateSummary | None, note: str = "") -> None:
        t = self.ctx.t
        details = self.query_one("#cert-details", Vertical)
        await details.remove_children()
        if summary is None:
            await details.mount(
                Static(t("error.certificate.none"), id="cert-none", classes="notice", markup=False)
            )
        else:
            await details.mount_all(
                Static(
                    f"{t(f'personal_cert.{name}')} : {self._value(summary, name)}",
                    id=f"cert-{name}",
                    classes="detail-line",
                    markup=False,
                )
                for name in DETAILS
            )
        self.has_certificate = summary is not None
        self.query_one("#remove", Button).display = self.has_certificate
        replace = "replace" if self.has_certificate else "register"
        self.query_one("#cert-register-title", Static).update(t(f"personal_cert.{replace}_title"))
        self.query_one("#register", Button).label = t(f"personal_cert.{replace}")
        self.query_one(StatusLine).show(note)

    def _value(self, summary: CertificateSummary, name: str) -> str:
        value = str(getattr(summary, name))
        return self.t("personal_cert.not_specified") if value == NOT_SPECIFIED else value

    # --- actions ------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "browse":
            self.action_browse()
        elif event.button.id == "register":
            self.submit()
        elif event.button.id == "remove":
            self.ask_remove()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def action_browse(self) -> None:
        typed = self.query_one("#cert_path", Input).value.strip()
        start = Path(typed).expanduser() if typed else Path.home()
        if not start.is_dir():
            start = start.parent if start.parent.is_dir() else Path.home()

        def picked(path: Path | None) -> None:
            if path is not None:
                field = self.query_one("#cert_path", Input)
                field.value = str(path)
                field.focus()

        self.app.push_screen(
            FileBrowser(self.t("personal_cert.pick_title"), self.ctx.t, start), picked
        )

    def submit(self) -> None:
        clear_errors(self)
        self.query_one(StatusLine).show("")
        path = self.query_one("#cert_path", Input).value.strip()
        if not path:
            self.query_one("#row-cert_path", FieldRow).set_error(
                self.t("error.certificate.required")
            )
            return
        self.register(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def register(self, path: str) -> None:
        from store.credentials import read_credential_file
        from store.personal import register_personal_certificate

        replaced = self.has_certificate
        try:
            summary = register_personal_certificate(self.ctx.person.id, read_credential_file(path))
        except ExpeditoError as exc:
            self.post_message(FormFailed(exc))
            return
        note = "personal_cert.replaced" if replaced else "personal_cert.loaded"
        self.app.call_from_thread(self.registered, self.t(note, owner=summary.owner))

    def registered(self, note: str) -> None:
        self.query_one("#cert_path", Input).value = ""
        self.load(note)

    def on_form_failed(self, message: FormFailed) -> None:
        report(
            self,
            message.error,
            self.ctx.t,
            self.query_one(StatusLine),
            {"": "cert_path", "certificate": "cert_path", "path": "cert_path"},
        )

    def ask_remove(self) -> None:
        t = self.t

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_certificate()

        self.app.push_screen(
            ConfirmDialog(
                t("personal_cert.remove_question"),
                t("personal_cert.remove"),
                t("portal_form.cancel"),
            ),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def remove_certificate(self) -> None:
        from store.personal import remove_personal_certificate

        try:
            remove_personal_certificate(self.ctx.person.id)
        except ExpeditoError as exc:
            self.post_message(FormFailed(exc))
            return
        self.app.call_from_thread(self.load, self.t("personal_cert.removed"))
