"""*Chargement de la clé publique SSH* / *Chargement du certificat*: a path (or a pasted key),
a file browser, and what was loaded (key type and fingerprint; certificate owner and expiry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from screens import sync_time
from screens.wizard.file_browser import FileBrowser
from store.credentials import (
    SshPublicKey,
    parse_certificate,
    parse_ssh_public_key,
    read_credential_file,
)
from store.errors import ValidationError
from tui.i18n import Translator, error_text

SSH_KEY, CERTIFICATE = "ssh_key", "certificate"
PASTED_KEY_PREFIXES = ("ssh-", "ecdsa-sha2-")


@dataclass(frozen=True)
class LoadedCredential:
    """The result of loading: the bytes for the service, what to show, or why it is refused;
    for an accepted SSH key, ``key`` as parsed, which the checks and the save use as it is."""

    source: str
    raw: bytes | None
    summary: str = ""
    error: ValidationError | None = None
    key: SshPublicKey | None = None


def is_pasted_key(text: str) -> bool:
    return text.strip().startswith(PASTED_KEY_PREFIXES)


def key_for_service(loaded: LoadedCredential | None) -> SshPublicKey | str | None:
    """The SSH key as the store takes it: parsed when it was accepted, else the refused text
    (so the store names the same rule again), else None (nothing loaded)."""
    if loaded is None:
        return None
    if loaded.key is not None:
        return loaded.key
    return loaded.raw.decode("utf-8", "surrogateescape") if loaded.raw is not None else None


def _loaded_key(source: str, raw: bytes, t: Translator, message: str) -> LoadedCredential:
    """The SSH public key ``raw``, parsed, with ``message`` ("Clé chargée : …", "Clé actuelle
    : …") as its summary; ValidationError when refused."""
    key = parse_ssh_public_key(raw)
    return LoadedCredential(
        source, raw, t(message, key_type=key.key_type, fingerprint=key.fingerprint), key=key
    )


def key_summary(
    key: SshPublicKey | str | None, t: Translator, message: str = "credential.key_loaded"
) -> str:
    """``message`` ("Clé chargée : …") for the SSH public key a channel holds, in ``t``'s
    language; "" when there is none or it does not read."""
    if not key:
        return ""
    if isinstance(key, str):
        try:
            key = parse_ssh_public_key(key.encode("utf-8", "surrogateescape"))
        except (ValidationError, ValueError):
            return ""
    return t(message, key_type=key.key_type, fingerprint=key.fingerprint)


def current_credential(kind: str, raw: bytes, t: Translator) -> LoadedCredential | None:
    """The key or certificate a channel has now (changing a channel), summarised in ``t``'s
    language: "Clé actuelle : …", "Certificat actuel : …". None when it no longer reads
    under today's rules (a key type refused since): the caller keeps what it had."""
    try:
        if kind == SSH_KEY:
            return _loaded_key("", raw, t, "credential.key_current")
        from store.channels import certificate_summary

        cert = certificate_summary(raw)
        if cert is None:
            return None
        summary = t("credential.cert_current", owner=cert.owner, expiry=cert.expiry)
    except (ValidationError, ValueError):
        return None
    return LoadedCredential("", raw, summary)


def load_credential(kind: str, text: str, t: Translator, now: datetime) -> LoadedCredential:
    """Read (a file, ``~`` expanded) and check a key or certificate (valid at ``now``, aware).
    Blocking: call it in a thread. A refused content keeps its bytes, so the service names the
    same rule again."""
    source = text.strip()
    try:
        raw = (
            source.encode()
            if kind == SSH_KEY and is_pasted_key(source)
            else read_credential_file(Path(source).expanduser())
        )
    except ValidationError as exc:
        return LoadedCredential(source, None, error=exc)
    try:
        if kind == SSH_KEY:
            return _loaded_key(source, raw, t, "credential.key_loaded")
        cert = parse_certificate(raw, now=now)
        summary = t("credential.cert_loaded", owner=cert.owner, expiry=cert.expiry)
    except ValidationError as exc:
        return LoadedCredential(source, raw, error=exc)
    return LoadedCredential(source, raw, summary)


class CredentialField(Widget):
    """One *Chargement* row; ``loaded`` is the last result (None until something is loaded)."""

    DEFAULT_CSS = """
    CredentialField { height: auto; margin-top: 1; }
    CredentialField .credential-label { text-style: bold; }
    CredentialField Horizontal { height: auto; }
    CredentialField Input { width: 1fr; }
    CredentialField Button { margin-left: 1; }
    CredentialField .credential-result { color: $success; }
    CredentialField .field-error { color: $error; text-style: bold; }
    """
    BINDINGS = [
        Binding("f9", "browse", "Parcourir", id="wizard.browse"),
    ]

    class Loaded(Message):
        def __init__(self, field: CredentialField, result: LoadedCredential) -> None:
            super().__init__()
            self.field = field
            self.result = result

    def __init__(
        self,
        kind: str,
        t: Translator,
        label: str,
        hint: str,
        initial: LoadedCredential | None = None,
    ) -> None:
        super().__init__(id=f"field-{kind}")
        self.kind = kind
        self.t = t
        self.label = label
        self.hint = hint
        self.loaded = initial

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="credential-label", markup=False)
        yield Static(self.hint, classes="credential-hint", markup=False)
        with Horizontal():
            yield Input(
                self.loaded.source if self.loaded else "",
                id=f"{self.kind}-path",
                placeholder=self.t(f"credential.{self.kind}.placeholder"),
                compact=True,
                select_on_focus=False,
            )
            yield Button(self.t("credential.browse"), id=f"{self.kind}-browse", compact=True)
        yield Static("", id=f"{self.kind}-result", classes="credential-result", markup=False)
        yield Static("", id=f"{self.kind}-error", classes="field-error", markup=False)

    def on_mount(self) -> None:
        if self.loaded is not None:
            self.show(self.loaded)

    @property
    def text(self) -> str:
        return self.query_one(f"#{self.kind}-path", Input).value

    @property
    def up_to_date(self) -> bool:
        """Is what the field shows what was loaded (nothing typed since)?"""
        if self.loaded is None:
            return not self.text.strip()
        return self.loaded.source == self.text.strip()

    def show(self, result: LoadedCredential) -> None:
        self.loaded = result
        self.query_one(f"#{self.kind}-result", Static).update(result.summary)
        self.show_error(result.error)

    def show_error(self, error: ValidationError | None) -> None:
        self.query_one(f"#{self.kind}-error", Static).update(
            error_text(error, self.t.lang) if error is not None else ""
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.load(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_browse()

    def action_browse(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one(f"#{self.kind}-path", Input).value = str(path)
                self.load(str(path))
            self.query_one(f"#{self.kind}-path", Input).focus()

        self.app.push_screen(FileBrowser(self.label, self.t), chosen)

    def load(self, text: str) -> None:
        if not text.strip():
            self.loaded = None
            self.query_one(f"#{self.kind}-result", Static).update("")
            self.show_error(None)
            return
        self._load(text)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, text: str) -> None:
        self.post_message(
            self.Loaded(self, load_credential(self.kind, text, self.t, sync_time.instant(self)))
        )

    def on_credential_field_loaded(self, message: Loaded) -> None:
        if message.field is self:
            self.show(message.result)
