"""The provisioning cycle's rows: the lease on a slot, and the channels a cycle has to handle.

A ``SyncCycle`` row per slot (``slot`` is unique) is the lease, with its ``owner`` and
``lease_until``: whoever creates the row, or finds it with an expired lease, runs the slot.
Slots and the lease's times are given and stored as naive **UTC** (``sync.schedule.slot_key``
makes them), so the autumn hour that repeats does not mix two slots; ``Channel`` times stay
naive local. The schedule and the file system are ``sync.cycle``'s; this module only reads and
writes the rows, each write in one IMMEDIATE transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import fn

from store.db import db
from store.models import ACTIVE, DELETED, PENDING, Channel, Sender, SyncCycle

RUNNING, DONE, FAILED = "running", "done", "failed"


class LeaseLost(RuntimeError):
    """Another process took the slot over (our lease had expired)."""


@dataclass(frozen=True)
class Claim:
    """What asking for a slot gave: ``running`` (ours to run), ``already`` (done before, by
    anyone) or ``busy`` (another owner's live lease, until ``lease_until``)."""

    status: str
    took_over: bool
    lease_until: datetime | None


@dataclass(frozen=True)
class ChannelWork:
    """A channel the cycle must handle: pending, or an SFTP key waiting to be provisioned."""

    channel_id: int
    kind: str
    status: str
    technical_user: str


def slot_done(slot: datetime) -> bool:
    return bool(
        SyncCycle.select().where((SyncCycle.slot == slot) & (SyncCycle.status == DONE)).exists()
    )


def claim_slot(slot: datetime, owner: str, at: datetime, until: datetime) -> Claim:
    """Try to become the one who runs ``slot``, holding it ``until``."""
    with db.atomic("IMMEDIATE"):
        row = SyncCycle.get_or_none(SyncCycle.slot == slot)
        if row is None:
            SyncCycle.create(
                slot=slot,
                owner=owner,
                lease_until=until,
                started_at=at,
                status=RUNNING,
                details="{}",
            )
            return Claim(RUNNING, False, until)
        if row.status == DONE:
            return Claim("already", False, None)
        if row.status == RUNNING and row.lease_until >= at and row.owner != owner:
            return Claim("busy", False, row.lease_until)
        previous = row.owner
        (
            SyncCycle.update(
                owner=owner,
                lease_until=until,
                status=RUNNING,
                details=json.dumps({"taken_over_from": previous}),
            )
            .where(SyncCycle.id == row.id)
            .execute()
        )
        return Claim(RUNNING, previous != owner, until)


def work_to_do() -> list[ChannelWork]:
    """Every channel the cycle must handle, of active senders, in id order."""
    query: Any = (
        Channel.select(Channel.id, Channel.kind, Channel.status, Sender.technical_user)
        .join(Sender)
        .where(
            (Sender.active == True)  # noqa: E712
            & ((Channel.status == PENDING) | Channel.key_change_pending)
        )
        .order_by(Channel.id)
        .tuples()
    )
    return [ChannelWork(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in query]


def activate_chunk(
    slot: datetime, owner: str, until: datetime, channel_ids: list[int], now_local: datetime
) -> list[tuple[int, str, str]]:
    """Renew our lease to ``until`` and activate ``channel_ids`` (at ``now_local``), in one
    transaction: ``(id, kind, status before)`` of those activated (a channel deleted since
    ``work_to_do`` is skipped). ``LeaseLost``, and nothing changed, when the slot is no longer
    ours."""
    with db.atomic("IMMEDIATE"):
        updated = (
            SyncCycle.update(lease_until=until)
            .where(
                (SyncCycle.slot == slot)
                & (SyncCycle.owner == owner)
                & (SyncCycle.status == RUNNING)
            )
            .execute()
        )
        if updated != 1:
            raise LeaseLost(f"lease on {slot} lost by {owner}")
        return activate_channels(channel_ids, now_local)


def activate_channels(channel_ids: list[int], now_local: datetime) -> list[tuple[int, str, str]]:
    """The channels' registered keys become the provisioned ones and they become active, in
    one transaction: ``(id, kind, status before)`` of those activated (a channel deleted
    meanwhile is skipped)."""
    channel_id: Any = Channel.id  # the declared ``int`` is the column here
    with db.atomic():
        rows: Any = (
            Channel.select(Channel.id, Channel.kind, Channel.status)
            .where(channel_id.in_(channel_ids) & (Channel.status != DELETED))
            .tuples()
        )
        live = [(int(row[0]), str(row[1]), str(row[2])) for row in rows]
        if live:
            (
                Channel.update(
                    status=ACTIVE,
                    provisioned_key=Channel.ssh_key,
                    provisioned_at=now_local,
                    activated_at=fn.COALESCE(Channel.activated_at, now_local),
                )
                .where(channel_id.in_([row[0] for row in live]) & (Channel.status != DELETED))
                .execute()
            )
    return live


def finish_cycle(
    slot: datetime,
    owner: str,
    at: datetime,
    status: str,
    provisioned: int,
    details: dict[str, object],
) -> None:
    """Record the end of our run of ``slot`` (``done`` or ``failed``) with its counts."""
    with db.atomic("IMMEDIATE"):
        row = SyncCycle.get_or_none((SyncCycle.slot == slot) & (SyncCycle.owner == owner))
        if row is None:
            raise LeaseLost(f"lease on {slot} lost by {owner}")
        merged = {**json.loads(row.details or "{}"), **details}
        (
            SyncCycle.update(
                status=status,
                finished_at=at,
                provisioned=provisioned,
                lease_until=at,
                details=json.dumps(merged, sort_keys=True),
            )
            .where(SyncCycle.id == row.id)
            .execute()
        )
