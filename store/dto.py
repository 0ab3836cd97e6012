"""Frozen dataclasses that service functions return: plain data, never peewee rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from store.rules import ContactData, format_kbo, format_onss

if TYPE_CHECKING:  # parsing keys needs cryptography; pages that only show data do not
    from store.credentials import SshPublicKey


@dataclass(frozen=True)
class OrganisationInfo:
    id: int
    name: str
    kbo: str
    created_on: date

    @property
    def kbo_display(self) -> str:
        return format_kbo(self.kbo)


@dataclass(frozen=True)
class QualiteInfo:
    id: int
    kind: str
    onss_number: str | None
    created_on: date
    organisation: OrganisationInfo

    @property
    def onss_display(self) -> str:
        return format_onss(self.onss_number)


@dataclass(frozen=True)
class PersonInfo:
    id: int
    login: str
    title: str
    first_name: str
    last_name: str
    language: str
    email: str
    phone: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class RoleInfo:
    qualite: QualiteInfo
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role in ("gestionnaire_local", "co_gestionnaire_local")


@dataclass(frozen=True)
class SessionInfo:
    """Who is logged in and the qualités they hold a role in."""

    person: PersonInfo
    roles: tuple[RoleInfo, ...]
    password_changed_at: datetime


@dataclass(frozen=True)
class ApplicationInfo:
    code: str
    name: str
    file_codes: tuple[str, ...]


@dataclass(frozen=True)
class ChannelApplicationInfo:
    code: str
    name: str
    preferred: bool
    preferred_kind: str  # the kind of the sender's preferred channel for this application


@dataclass(frozen=True)
class CertificateSummary:
    owner: str
    company: str
    issuer: str
    expiry: str
    serial_decimal: str
    serial_hex: str


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    kind: str
    status: str
    connection_type: str
    ssh_key_type: str | None
    ssh_fingerprint: str | None
    certificate: CertificateSummary | None
    applications: tuple[ChannelApplicationInfo, ...]
    mq_queue_manager: str | None
    mq_queue: str | None
    created_at: datetime
    activated_at: datetime | None
    change_pending: bool  # a registered change waits for the next synchronisation


@dataclass(frozen=True)
class SenderInfo:
    id: int
    qualite_id: int
    number: int
    technical_user: str
    registered_on: date
    active: bool


@dataclass(frozen=True)
class Overview:
    """Everything *Aperçu des données de configuration* shows."""

    sender: SenderInfo
    contact: ContactData | None
    channels: tuple[ChannelInfo, ...]


@dataclass(frozen=True)
class ChannelInput:
    """A channel as entered in *Données du canal*.

    ``ssh_key`` is the key as given (text), or as already parsed (``SshPublicKey``: the wizard
    parses it once, when it is loaded, and the checks and the save use that).
    """

    kind: str
    applications: tuple[str, ...]
    ssh_key: str | SshPublicKey | None = None
    certificate: bytes | None = None
    connection_type: str = "Internet"
    preferred: tuple[tuple[str, str], ...] = ()  # (application code, preferred channel kind)
    mq_queue_manager: str | None = None
    mq_queue: str | None = None

    def preferred_kind(self, application: str) -> str | None:
        return dict(self.preferred).get(application)


@dataclass(frozen=True)
class SenderStatus:
    """What the Messages structurés menu needs: is there a sender, did there ever be one."""

    has_active_sender: bool
    had_sender: bool
    technical_user: str | None
    number: int | None
    channel_kinds: tuple[str, ...]
