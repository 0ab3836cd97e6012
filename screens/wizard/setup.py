"""What the wizard needs from the store, loaded once by its host page (in a thread worker):
its modes and ``WizardSetup``. Light: a page that loads it (*Enregistrement*, built ahead
after login) imports the wizard's widgets (``screens.wizard.wizard``) only when it shows
one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from store.dto import ApplicationInfo, ChannelInput, Overview
from store.rules import ContactData
from tui.i18n import Translator

if TYPE_CHECKING:
    from screens.wizard.credential_field import LoadedCredential

REGISTER, ADD, MODIFY = "register", "add", "modify"


@dataclass(frozen=True)
class WizardSetup:
    """What the host page loaded for the wizard (in a worker)."""

    mode: str
    kind: str
    applications: tuple[ApplicationInfo, ...]
    rivals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    existing_username: str | None = None  # the qualité has (had) a sender: no user step
    contact: ContactData | None = None
    channel: ChannelInput | None = None
    loaded: Mapping[str, LoadedCredential] = field(default_factory=dict)


def rivals_of(overview: Overview | None, kind: str) -> dict[str, tuple[str, ...]]:
    """Application code → the other live channel kinds of the sender securing it."""
    rivals: dict[str, list[str]] = defaultdict(list)
    for channel in overview.channels if overview else ():
        if channel.kind != kind:
            for app in channel.applications:
                rivals[app.code].append(channel.kind)
    return {code: tuple(kinds) for code, kinds in rivals.items()}


def load_setup(actor_id: int, qualite_id: int, mode: str, kind: str, t: Translator) -> WizardSetup:
    """Blocking (database): call it from a thread worker."""
    from store.channels import applications
    from store.senders import channel_input, kept_contact, overview, sender_status

    apps = applications()
    if mode == REGISTER:
        status = sender_status(qualite_id)
        return WizardSetup(
            REGISTER,
            kind,
            apps,
            existing_username=status.technical_user if status.had_sender else None,
            # Registering again: the contact person kept from before, to check and confirm.
            contact=kept_contact(actor_id, qualite_id) if status.had_sender else None,
        )
    current = overview(actor_id, qualite_id)
    rivals = rivals_of(current, kind)
    if mode == ADD:
        return WizardSetup(ADD, kind, apps, rivals)
    from screens.wizard.credential_field import (
        CERTIFICATE,
        SSH_KEY,
        LoadedCredential,
        current_credential,
    )

    stored = channel_input(actor_id, qualite_id, kind)
    info = next(c for c in current.channels if c.kind == kind) if current else None
    loaded: dict[str, LoadedCredential] = {}
    if isinstance(stored.ssh_key, str) and stored.ssh_key and info is not None:
        raw = stored.ssh_key.encode()
        loaded[SSH_KEY] = current_credential(SSH_KEY, raw, t) or LoadedCredential(
            "",
            raw,
            t(
                "credential.key_current",
                key_type=info.ssh_key_type or "",
                fingerprint=info.ssh_fingerprint or "",
            ),
        )
    if stored.certificate and info is not None and info.certificate is not None:
        loaded[CERTIFICATE] = current_credential(
            CERTIFICATE, stored.certificate, t
        ) or LoadedCredential(
            "",
            stored.certificate,
            t(
                "credential.cert_current",
                owner=info.certificate.owner,
                expiry=info.certificate.expiry,
            ),
        )
    return WizardSetup(MODIFY, kind, apps, rivals, channel=stored, loaded=loaded)
