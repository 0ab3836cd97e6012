"""The provisioning cycle: what registrations become at a :00/:30 slot.

Pending SFTP channels get their key provisioned, active SFTP channels whose key changed get
the new key, other pending channels become active. The cycle is a database operation: one
transaction per chunk of channels (the lease renewed, the chunk read and updated: one
statement on PostgreSQL, a SELECT and an UPDATE on SQLite), nothing on disk. A home and its
six folders are made when its user first logs in to the embedded server
(``sync.sftp_server``, with ``sync.homes.ensure_home``), and for the OpenSSH front, whose
``ChrootDirectory`` needs the home before login, by the front's step that follows the
database (``sync.openssh.front``) within a second of the cycle. Each slot runs once,
whatever the number of processes on the database: a ``SyncCycle`` row per slot (``slot`` is
unique) is the lease, with its ``owner`` and ``lease_until`` (:mod:`store.cycles` keeps the
rows). The owner renews the lease with every chunk; a lease that expired (its owner died) can
be taken over.

The cycle is idempotent and safe to kill at any moment: each chunk is one transaction, and
re-running finds what is left to do.

``SyncCycle`` times (slot, lease_until, started_at, finished_at) are naive **UTC**, so the
autumn hour that repeats does not mix two slots; ``Channel`` times stay naive local. Tests that
kill a cycle half-way pass ``on_chunk`` (called before each chunk's commit).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store import cycles
from store.cycles import (
    DONE,
    FAILED,
    RUNNING,
    LeaseLost,
    activate_next,
    claim_slot,
    finish_cycle,
)
from store.db import is_postgresql
from store.models import PENDING, SFTP
from sync.schedule import domain_time, slot_key

log = logging.getLogger("expedito.sync")

LEASE = timedelta(seconds=60)
# Channels per step (one transaction). SQLite: other writers wait for its lock during a step,
# so steps stay short. PostgreSQL locks only the step's rows: fewer steps, less per-step work
# (the lease renewed, a plan made, a commit).
CHUNK = 1000
CHUNK_POSTGRESQL = 5000

Now = Callable[[], datetime]
# Called with the number of channels handled so far, before each chunk's commit (tests: a crash).
ChunkHook = Callable[[int], None]


def default_chunk() -> int:
    return CHUNK_POSTGRESQL if is_postgresql() else CHUNK


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
    seconds: float = 0.0
    took_over: bool = False
    lease_until: datetime | None = None
    error: str = ""

    @property
    def ran(self) -> bool:
        return self.status == DONE


def slot_done(slot: datetime) -> bool:
    """Has anyone finished ``slot`` (aware)?"""
    return cycles.slot_done(slot_key(slot))


def acquire_lease(
    slot: datetime, owner: str, now: datetime, lease: timedelta = LEASE
) -> tuple[str, bool, datetime | None]:
    """Try to become the one who runs ``slot``: ``(status, took_over, lease_until)``.

    ``status`` is ``running`` when we hold the lease, else ``already`` or ``busy``.
    """
    claim = claim_slot(slot_key(slot), owner, _utc(now), _utc(now) + lease)
    return claim.status, claim.took_over, claim.lease_until


def provision(
    slot: datetime,
    owner: str,
    now: Now,
    lease: timedelta = LEASE,
    chunk: int | None = None,
    on_chunk: ChunkHook | None = None,
) -> dict[str, int]:
    """Do the cycle's work in chunks (``default_chunk()`` channels each unless told); returns
    the counts. Raises LeaseLost if overtaken."""
    chunk = chunk or default_chunk()
    counts = {"provisioned": 0, "rekeyed": 0, "other": 0}
    after = 0
    done = 0

    def handled(rows: int) -> None:
        if on_chunk is not None:
            on_chunk(done + rows)

    while True:
        moment = now()
        step = activate_next(
            slot_key(slot), owner, _utc(moment) + lease, after, chunk, domain_time(moment), handled
        )
        for (kind, status), count in step.counts.items():
            if kind != SFTP:
                counts["other"] += count
            elif status == PENDING:
                counts["provisioned"] += count
            else:
                counts["rekeyed"] += count
        done += step.read
        if step.read < chunk:
            return counts
        after = step.last_id


def run_cycle(
    slot: datetime,
    homes_root: str | os.PathLike[str],
    now: Now,
    owner: str | None = None,
    lease: timedelta = LEASE,
    chunk: int | None = None,
    on_chunk: ChunkHook | None = None,
) -> CycleResult:
    """Run ``slot`` unless it is done or another process is running it (blocking)."""
    owner = owner or default_owner()
    status, took_over, until = acquire_lease(slot, owner, now(), lease)
    if status != RUNNING:
        return CycleResult(slot, status, owner, lease_until=until)
    started = time.perf_counter()
    try:
        Path(homes_root).mkdir(parents=True, exist_ok=True)  # the homes: made at login
        counts = provision(slot, owner, now, lease, chunk, on_chunk)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return CycleResult(slot, "busy", owner, error=str(exc))
    except Exception as exc:
        log.exception("sync cycle %s failed", slot)
        try:
            finish_cycle(slot_key(slot), owner, _utc(now()), FAILED, 0, {"error": repr(exc)})
        except Exception:
            log.exception("could not record the failure")
        return CycleResult(slot, FAILED, owner, error=repr(exc))
    seconds = time.perf_counter() - started
    details: dict[str, object] = {**counts, "seconds": round(seconds, 3)}
    finish_cycle(
        slot_key(slot), owner, _utc(now()), DONE, counts["provisioned"] + counts["rekeyed"], details
    )
    log.info("sync cycle %s done in %.2fs: %s", slot, seconds, counts)
    return CycleResult(
        slot,
        DONE,
        owner,
        provisioned=counts["provisioned"],
        rekeyed=counts["rekeyed"],
        other=counts["other"],
        seconds=seconds,
        took_over=took_over,
    )
