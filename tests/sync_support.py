"""Bulk test data for the sync cycle: many senders with a pending SFTP channel each.

Rows are inserted directly (the registration service checks keys and certificates one by
one, far too slow for 100,000 channels); the values are what the service would store.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from store import senders
from store.db import db
from store.democreds import DemoCredentials
from store.dto import Overview
from store.models import PENDING, SFTP, Channel, Organisation, Qualite, Sender
from tests.helpers import contact, person_id, qualite_id, sftp_input

NOW = datetime(2026, 11, 28, 14, 12)
BATCH = 500


def user_name(index: int) -> str:
    return f"bulkuser{index:07d}"


def seed_pending_channels(count: int, ssh_key: str, first: int = 0) -> list[str]:
    """``count`` senders (numbers from 200000) each with one pending SFTP channel."""
    names = []
    with db.atomic():
        for start in range(first, first + count, BATCH):
            stop = min(start + BATCH, first + count)
            indexes = range(start, stop)
            Organisation.insert_many(
                [{"name": f"BULK {i}", "kbo": f"09{i:08d}", "created_on": date(2020, 1, 1)}
                 for i in indexes]).execute()
            orgs = {o.kbo: o.id for o in Organisation.select(Organisation.id, Organisation.kbo)
                    .where(Organisation.kbo.in_([f"09{i:08d}" for i in indexes]))}
            Qualite.insert_many(
                [{"organisation": orgs[f"09{i:08d}"], "kind": "employeur_onss",
                  "created_on": date(2020, 1, 1)} for i in indexes]).execute()
            quals = {q.organisation_id: q.id for q in Qualite.select(
                Qualite.id, Qualite.organisation).where(
                Qualite.organisation.in_(list(orgs.values())))}
            Sender.insert_many(
                [{"qualite": quals[orgs[f"09{i:08d}"]], "number": 200000 + i,
                  "technical_user": user_name(i), "registered_on": NOW.date()}
                 for i in indexes]).execute()
            senders = {s.technical_user: s.id for s in Sender.select(
                Sender.id, Sender.technical_user).where(
                Sender.technical_user.in_([user_name(i) for i in indexes]))}
            Channel.insert_many(
                [{"sender": senders[user_name(i)], "kind": SFTP, "status": PENDING,
                  "ssh_key": ssh_key, "created_at": NOW} for i in indexes]).execute()
            names.extend(user_name(i) for i in indexes)
    return names


def new_ssh_key(directory: Path, name: str = "other_ed25519") -> tuple[Path, str]:
    """A fresh ed25519 key pair: the private key file (0600) and the public key line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = directory / name
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    (directory / f"{name}.pub").write_text(public + "\n")
    return private, public


def register_demo_sender(creds: DemoCredentials, name: str = "EXPDEMOENTREPRISE",
                         now: datetime = NOW) -> Overview:
    """The demo gestionnaire local registers the demo qualité's sender with an SFTP channel."""
    return senders.register_sender(person_id("dieter"), qualite_id(), contact(),
                                   sftp_input(creds), name, name, now=now)
