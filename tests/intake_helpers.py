"""A registered, provisioned SFTP account with a home folder, for the intake tests and bench."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from store import senders
from store.accounts import Account, find_account
from store.batchnames import HOME_FOLDERS
from store.democreds import DemoCredentials
from store.models import Channel
from store.signing import SigningKey
from sync.intake.prepare import PreparedSet, write_set
from sync.intake.service import Intake
from tests.helpers import contact, person_id, qualite_id, sftp_input

USER = "EXPDEMOENTREPRISE"
TODAY = "20260115"
NOW = datetime(2026, 1, 15, 10, 30)
DATA = b"<DmfA>\n  <Quarter>20254</Quarter>\n</DmfA>\n"


def provisioned_account(creds: DemoCredentials, applications: tuple[str, ...] = (
        "dmfa", "dimona")) -> Account:
    """Register the demo qualité's sender with an SFTP channel and provision it."""
    overview = senders.register_sender(person_id("dieter"), qualite_id(), contact(),
                                       sftp_input(creds, applications=applications), USER, USER)
    (channel,) = overview.channels
    senders.activate_channel(channel.id, Channel.get_by_id(channel.id).created_at)
    account = find_account(USER, creds.ssh_public_key.read_text())
    assert account is not None
    return account


def make_home(homes_root: Path, user: str = USER) -> Path:
    home = homes_root / user
    for folder in HOME_FOLDERS:
        (home / folder).mkdir(parents=True, exist_ok=True)
    return home


@dataclass
class Partner:
    """The account, its home, the intake watching it, and the credentials to sign with."""

    account: Account
    home: Path
    intake: Intake
    cert: x509.Certificate
    key: SigningKey
    sequence: int = field(default=0)

    def write(self, parts: tuple[bytes, ...] = (DATA,), folder: str = "INTEST",
              **fields: object) -> PreparedSet:
        """Write a set into ``folder`` of the home; fields default to a valid T set."""
        self.sequence += 1
        values: dict[str, object] = dict(
            purpose="DMFA", sender=self.account.sender_number, date=TODAY,
            sequence=self.sequence, env="T", cert=self.cert, key=self.key)
        values.update(fields)
        return write_set(self.home / folder, list(parts), **values)  # type: ignore[arg-type]

    def files(self, folder: str) -> list[str]:
        return sorted(p.name for p in (self.home / folder).iterdir())


def load_credentials(creds: DemoCredentials) -> tuple[x509.Certificate, SigningKey]:
    cert = x509.load_der_x509_certificate(creds.certificate_der.read_bytes())
    key = serialization.load_pem_private_key(creds.certificate_key.read_bytes(), None)
    return cert, key  # type: ignore[return-value]
