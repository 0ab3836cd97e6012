"""The demo data set's people and qualités by name, and the demo sender registered with an SFTP
channel, as the registration wizard would store it."""

from __future__ import annotations

from datetime import datetime

from store import senders
from store.accounts import Account, find_account
from store.credentials import SshPublicKey
from store.democreds import DemoCredentials
from store.dto import ChannelInput, Overview
from store.models import Channel, Organisation, Person, Qualite
from store.rules import ContactData

DEMO_USER = "EXPDEMOENTREPRISE"
"""The demo sender's technical user (and its home folder's name)."""
REGISTERED_AT = datetime(2026, 11, 28, 14, 12)
"""When ``register_demo_sender`` registers, unless told otherwise."""

CONTACT = ContactData(
    last_name="Expéditeur",
    first_name="Didier",
    title="Mr",
    function="IT",
    language="fr",
    phone="025455078",
    emails=("batch@eranova.fgov.be",),
)
"""A valid contact person (``dataclasses.replace`` it for another)."""


def sftp_input(
    creds: DemoCredentials,
    applications: tuple[str, ...] = ("dmfa", "dimona"),
    ssh_key: str | SshPublicKey | None = None,
) -> ChannelInput:
    """An SFTP channel with the demo key (or ``ssh_key``) and signature certificate."""
    return ChannelInput(
        kind="SFTP",
        applications=applications,
        ssh_key=creds.ssh_public_key.read_text() if ssh_key is None else ssh_key,
        certificate=creds.certificate_der.read_bytes(),
    )


def person_id(login: str) -> int:
    return int(Person.get(Person.login == login).id)


def qualite_id(kbo: str = "0403123486") -> int:
    """The qualité of the organisation ``kbo`` (by default ENTREPRISE DEMO's)."""
    return int(Qualite.select().join(Organisation).where(Organisation.kbo == kbo).get().id)


def register_demo_sender(
    creds: DemoCredentials,
    name: str = DEMO_USER,
    now: datetime | None = REGISTERED_AT,
    applications: tuple[str, ...] = ("dmfa", "dimona"),
    login: str = "dieter",
) -> Overview:
    """``login`` (the demo gestionnaire local) registers the demo qualité's sender with an
    SFTP channel (``now=None``: at the store's clock)."""
    return senders.register_sender(
        person_id(login),
        qualite_id(),
        CONTACT,
        sftp_input(creds, applications),
        name,
        name,
        now=now,
    )


def provisioned_account(
    creds: DemoCredentials, applications: tuple[str, ...] = ("dmfa", "dimona")
) -> Account:
    """``register_demo_sender``, then its channel activated as the sync cycle would: the
    account the SFTP server and the intake know."""
    overview = register_demo_sender(creds, now=None, applications=applications)
    (channel,) = overview.channels
    senders.activate_channel(channel.id, Channel.get_by_id(channel.id).created_at)
    account = find_account(DEMO_USER, creds.ssh_public_key.read_text())
    assert account is not None
    return account
