"""A partner's home on disk and the sets it writes there, as an SFTP upload would leave them,
for the intake tests (the account comes from ``registration.provisioned_account``); the
``partner`` fixture of ``tests/conftest.py`` is :func:`new_partner`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509

from store.accounts import Account
from store.batchnames import HOME_FOLDERS
from store.democreds import DemoCredentials
from store.signing import SigningKey
from sync.intake.prepare import PreparedSet, write_set
from sync.intake.service import Intake
from tests.support.credentials import signing_pair
from tests.support.registration import DEMO_USER, provisioned_account

TODAY = "20260115"
NOW = datetime(2026, 1, 15, 10, 30)
"""The intake's clock: sets are dated ``TODAY``."""
DATA = b"<DmfA>\n  <Quarter>20254</Quarter>\n</DmfA>\n"


def make_home(homes_root: Path, user: str = DEMO_USER) -> Path:
    """The user's home with its six folders, as the sync cycle makes it."""
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

    def write(
        self,
        parts: tuple[bytes, ...] = (DATA,),
        folder: str = "INTEST",
        *,
        purpose: str = "DMFA",
        sender: int | str | None = None,
        date: str = TODAY,
        sequence: int | str | None = None,
        env: str = "T",
        cert: x509.Certificate | None = None,
        key: SigningKey | None = None,
        sign: bool | None = None,
    ) -> PreparedSet:
        """Write a set into ``folder`` of the home: by default the account's next valid T set,
        signed with the partner's credentials; any field may be given, broken or not."""
        self.sequence += 1
        return write_set(
            self.home / folder,
            list(parts),
            purpose=purpose,
            sender=self.account.sender_number if sender is None else sender,
            date=date,
            sequence=self.sequence if sequence is None else sequence,
            env=env,
            cert=cert or self.cert,
            key=key or self.key,
            sign=sign,
        )

    def files(self, folder: str) -> list[str]:
        return sorted(p.name for p in (self.home / folder).iterdir())


def new_partner(credentials: DemoCredentials, homes: Path) -> Partner:
    """The demo sender's account provisioned with ``credentials``, its home under ``homes``,
    and an intake of ``homes`` dated ``NOW`` that watches this account alone, with no
    periodic rescan (the database must be open, with the demo data set)."""
    account = provisioned_account(credentials)
    home = make_home(homes)
    cert, key = signing_pair(credentials)
    intake = Intake(homes, now=lambda: NOW, rescan=None, accounts=lambda: [account])
    return Partner(account, home, intake, cert, key)
