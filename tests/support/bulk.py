"""Many senders at once for the sync cycle's tests and bench: each with a pending SFTP channel.

Rows are inserted directly (the registration service checks keys and certificates one by
one, far too slow for 100,000 channels); the values are what the service would store.
"""

from __future__ import annotations

from datetime import date

from store.db import db
from store.models import PENDING, SFTP, Channel, Organisation, Qualite, Sender
from tests.support.registration import REGISTERED_AT

BATCH = 500


def user_name(index: int) -> str:
    return f"bulkuser{index:07d}"


def seed_pending_channels(count: int, ssh_key: str, first: int = 0) -> list[str]:
    """``count`` senders (numbers from 200000) each with one pending SFTP channel."""
    names: list[str] = []
    with db.atomic():
        for start in range(first, first + count, BATCH):
            stop = min(start + BATCH, first + count)
            indexes = range(start, stop)
            Organisation.insert_many(
                [
                    {"name": f"BULK {i}", "kbo": f"09{i:08d}", "created_on": date(2020, 1, 1)}
                    for i in indexes
                ]
            ).execute()
            orgs = {
                o.kbo: o.id
                for o in Organisation.select(Organisation.id, Organisation.kbo).where(
                    Organisation.kbo.in_([f"09{i:08d}" for i in indexes])
                )
            }
            Qualite.insert_many(
                [
                    {
                        "organisation": orgs[f"09{i:08d}"],
                        "kind": "employeur_onss",
                        "created_on": date(2020, 1, 1),
                    }
                    for i in indexes
                ]
            ).execute()
            quals = {
                q.organisation_id: q.id
                for q in Qualite.select(Qualite.id, Qualite.organisation).where(
                    Qualite.organisation.in_(list(orgs.values()))
                )
            }
            Sender.insert_many(
                [
                    {
                        "qualite": quals[orgs[f"09{i:08d}"]],
                        "number": 200000 + i,
                        "technical_user": user_name(i),
                        "registered_on": REGISTERED_AT.date(),
                    }
                    for i in indexes
                ]
            ).execute()
            senders = {
                s.technical_user: s.id
                for s in Sender.select(Sender.id, Sender.technical_user).where(
                    Sender.technical_user.in_([user_name(i) for i in indexes])
                )
            }
            Channel.insert_many(
                [
                    {
                        "sender": senders[user_name(i)],
                        "kind": SFTP,
                        "status": PENDING,
                        "ssh_key": ssh_key,
                        "created_at": REGISTERED_AT,
                    }
                    for i in indexes
                ]
            ).execute()
            names.extend(user_name(i) for i in indexes)
    return names
