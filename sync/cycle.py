"""The provisioning cycle: what registrations become at a :00/:30 slot.

Pending SFTP channels get their home (six folders) and their key provisioned, active SFTP
channels whose key changed get the new key, other pending channels become active. Each slot
runs once, whatever the number of processes on the database: a ``SyncCycle`` row per slot
(``slot`` is unique) is the lease, with its ``owner`` and ``lease_until``. The owner renews
the lease after every chunk; a lease that expired (its owner died) can be taken over.

The cycle is idempotent and safe to kill at any moment: homes are created before the
channels of the same chunk are marked active (``mkdir`` that finds a folder is a no-op), and
each chunk of channel updates is one transaction. Re-running finds what is left to do.

``SyncCycle`` times (slot, lease_until, started_at, finished_at) are naive **UTC**, so the
autumn hour that repeats does not mix two slots; ``Channel`` times stay naive local.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store.db import db
from store.models import PENDING, SFTP, Channel, Sender, SyncCycle
from store.senders import activate_channels
from sync.homes import ensure_home
from sync.schedule import domain_time, slot_key, to_local

log = logging.getLogger("expedito.sync")

RUNNING, DONE, FAILED = "running", "done", "failed"
LEASE = timedelta(seconds=60)
CHUNK = 1000
# Test hook: the process kills itself (SIGKILL) after provisioning this many channels' homes
# in the middle of a chunk, so tests can check a re-run after a crash.
FAULT_ENV = "EXPEDITO_SYNC_FAULT_AFTER"

Now = Callable[[], datetime]


class LeaseLost(RuntimeError):
    """Another process took the slot over (our lease had expired)."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class CycleResult:
    """What one attempt at a slot did.

    ``status``: ``done`` (this process ran it), ``already`` (done before, by anyone),
    ``busy`` (another process holds a live lease), ``failed`` (an error; retried later).
    """

    slot: datetime
    status: str
    owner: str
    provisioned: int = 0
    rekeyed: int = 0
    other: int = 0
    homes_created: int = 0
    seconds: float = 0.0
    took_over: bool = False
    lease_until: datetime | None = None
    error: str = ""

    @property
    def ran(self) -> bool:
        return self.status == DONE


@dataclass(frozen=True)
class CycleRecord:
    """A ``SyncCycle`` row as the UI shows it (times aware, local)."""

    slot: datetime
    status: str
    owner: str
    started_at: datetime
    finished_at: datetime | None
    provisioned: int
    details: dict[str, object]


def _record(row: SyncCycle) -> CycleRecord:
    def local(value: datetime | None) -> datetime | None:
        return to_local(value.replace(tzinfo=UTC)) if value is not None else None

    started = local(row.started_at)
    assert started is not None
    slot = local(row.slot)
    assert slot is not None
    try:
        details = json.loads(row.details or "{}")
    except ValueError:
        details = {}
    return CycleRecord(
        slot, row.status, row.owner, started, local(row.finished_at), int(row.provisioned), details
    )


def last_cycle() -> CycleRecord | None:
    """The latest finished cycle, or None."""
    row = SyncCycle.select().where(SyncCycle.status == DONE).order_by(SyncCycle.slot.desc()).first()
    return _record(row) if row is not None else None


def slot_done(slot: datetime) -> bool:
    return (
        SyncCycle.select()
        .where((SyncCycle.slot == slot_key(slot)) & (SyncCycle.status == DONE))
        .exists()
    )


def acquire_lease(
    slot: datetime, owner: str, now: datetime, lease: timedelta = LEASE
) -> tuple[str, bool, datetime | None]:
    """Try to become the one who runs ``slot``: ``(status, took_over, lease_until)``.

    ``status`` is ``running`` when we hold the lease, else ``already`` or ``busy``.
    """
    key, at = slot_key(slot), _utc(now)
    until = at + lease
    with db.atomic("IMMEDIATE"):
        row = SyncCycle.get_or_none(SyncCycle.slot == key)
        if row is None:
            SyncCycle.create(
                slot=key,
                owner=owner,
                lease_until=until,
                started_at=at,
                status=RUNNING,
                details="{}",
            )
            return RUNNING, False, until
        if row.status == DONE:
            return "already", False, None
        if row.status == RUNNING and row.lease_until >= at and row.owner != owner:
            return "busy", False, row.lease_until
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
        return RUNNING, previous != owner, until


def _renew(slot: datetime, owner: str, now: datetime, lease: timedelta) -> None:
    """Extend our lease (inside the caller's transaction); LeaseLost if it is not ours."""
    updated = (
        SyncCycle.update(lease_until=_utc(now) + lease)
        .where(
            (SyncCycle.slot == slot_key(slot))
            & (SyncCycle.owner == owner)
            & (SyncCycle.status == RUNNING)
        )
        .execute()
    )
    if updated != 1:
        raise LeaseLost(f"lease on {slot_key(slot)} lost by {owner}")


def _finish(
    slot: datetime,
    owner: str,
    now: datetime,
    status: str,
    provisioned: int,
    details: dict[str, object],
) -> None:
    with db.atomic("IMMEDIATE"):
        row = SyncCycle.get_or_none((SyncCycle.slot == slot_key(slot)) & (SyncCycle.owner == owner))
        if row is None:
            raise LeaseLost(f"lease on {slot_key(slot)} lost by {owner}")
        merged = {**json.loads(row.details or "{}"), **details}
        (
            SyncCycle.update(
                status=status,
                finished_at=_utc(now),
                provisioned=provisioned,
                lease_until=_utc(now),
                details=json.dumps(merged, sort_keys=True),
            )
            .where(SyncCycle.id == row.id)
            .execute()
        )


def work_to_do() -> list[tuple[int, str, str, str]]:
    """``(channel id, kind, status, technical user)`` of every channel the cycle must handle."""
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
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in query]


def _fault_after() -> int | None:
    value = os.environ.get(FAULT_ENV)
    return int(value) if value else None


def provision(
    homes_root: Path,
    slot: datetime,
    owner: str,
    now: Now,
    lease: timedelta = LEASE,
    chunk: int = CHUNK,
) -> dict[str, int]:
    """Do the cycle's work in chunks; returns the counts. Raises LeaseLost if overtaken."""
    counts = {"provisioned": 0, "rekeyed": 0, "other": 0, "homes_created": 0}
    homes_root.mkdir(parents=True, exist_ok=True)
    todo = work_to_do()
    fault = _fault_after()
    done = 0
    for start in range(0, len(todo), chunk):
        rows = todo[start : start + chunk]
        for _channel_id, kind, _status, user in rows:
            if kind == SFTP and ensure_home(homes_root, user):
                counts["homes_created"] += 1
            done += 1
            if fault is not None and done >= fault:
                log.warning("%s=%s: killing the cycle half-way", FAULT_ENV, fault)
                os.kill(os.getpid(), signal.SIGKILL)
        moment = now()
        local_naive = domain_time(moment)
        with db.atomic("IMMEDIATE"):
            _renew(slot, owner, moment, lease)
            # a channel deleted since work_to_do() is not in the answer: nothing to do
            for _channel_id, kind, status in activate_channels([r[0] for r in rows], local_naive):
                if kind != SFTP:
                    counts["other"] += 1
                elif status == PENDING:
                    counts["provisioned"] += 1
                else:
                    counts["rekeyed"] += 1
    return counts


def run_cycle(
    slot: datetime,
    homes_root: str | os.PathLike[str],
    now: Now,
    owner: str | None = None,
    lease: timedelta = LEASE,
    chunk: int = CHUNK,
) -> CycleResult:
    """Run ``slot`` unless it is done or another process is running it (blocking)."""
    owner = owner or default_owner()
    status, took_over, until = acquire_lease(slot, owner, now(), lease)
    if status != RUNNING:
        return CycleResult(slot, status, owner, lease_until=until)
    started = time.perf_counter()
    try:
        counts = provision(Path(homes_root), slot, owner, now, lease, chunk)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return CycleResult(slot, "busy", owner, error=str(exc))
    except Exception as exc:
        log.exception("sync cycle %s failed", slot)
        try:
            _finish(slot, owner, now(), FAILED, 0, {"error": repr(exc)})
        except Exception:
            log.exception("could not record the failure")
        return CycleResult(slot, FAILED, owner, error=repr(exc))
    seconds = time.perf_counter() - started
    details: dict[str, object] = {**counts, "seconds": round(seconds, 3)}
    _finish(slot, owner, now(), DONE, counts["provisioned"] + counts["rekeyed"], details)
    log.info("sync cycle %s done in %.2fs: %s", slot, seconds, counts)
    return CycleResult(
        slot,
        DONE,
        owner,
        provisioned=counts["provisioned"],
        rekeyed=counts["rekeyed"],
        other=counts["other"],
        homes_created=counts["homes_created"],
        seconds=seconds,
        took_over=took_over,
    )
