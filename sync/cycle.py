"""The provisioning cycle: what registrations become at a :00/:30 slot.

Pending SFTP channels get their home (six folders) and their key provisioned, active SFTP
channels whose key changed get the new key, other pending channels become active. Each slot
runs once, whatever the number of processes on the database: a ``SyncCycle`` row per slot
(``slot`` is unique) is the lease, with its ``owner`` and ``lease_until``
(:mod:`store.cycles` keeps the rows). The owner renews the lease after every chunk; a lease
that expired (its owner died) can be taken over.

The cycle is idempotent and safe to kill at any moment: homes are created before the
channels of the same chunk are marked active (``mkdir`` that finds a folder is a no-op), and
each chunk of channel updates is one transaction. Re-running finds what is left to do.

``SyncCycle`` times (slot, lease_until, started_at, finished_at) are naive **UTC**, so the
autumn hour that repeats does not mix two slots; ``Channel`` times stay naive local. Tests that
kill a cycle half-way pass ``on_channel`` (called after each channel's home is made).
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
    activate_chunk,
    claim_slot,
    finish_cycle,
    work_to_do,
)
from store.models import PENDING, SFTP
from sync.homes import ensure_home
from sync.schedule import domain_time, slot_key

log = logging.getLogger("expedito.sync")

LEASE = timedelta(seconds=60)
CHUNK = 1000

Now = Callable[[], datetime]
# Called with the number of channels handled so far, after each one's home (tests: a crash).
ChannelHook = Callable[[int], None]


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
    homes_root: Path,
    slot: datetime,
    owner: str,
    now: Now,
    lease: timedelta = LEASE,
    chunk: int = CHUNK,
    on_channel: ChannelHook | None = None,
) -> dict[str, int]:
    """Do the cycle's work in chunks; returns the counts. Raises LeaseLost if overtaken."""
    counts = {"provisioned": 0, "rekeyed": 0, "other": 0, "homes_created": 0}
    homes_root.mkdir(parents=True, exist_ok=True)
    todo = work_to_do()
    done = 0
    for start in range(0, len(todo), chunk):
        rows = todo[start : start + chunk]
        for work in rows:
            if work.kind == SFTP and ensure_home(homes_root, work.technical_user):
                counts["homes_created"] += 1
            done += 1
            if on_channel is not None:
                on_channel(done)
        moment = now()
        for _channel_id, kind, status in activate_chunk(
            slot_key(slot),
            owner,
            _utc(moment) + lease,
            [w.channel_id for w in rows],
            domain_time(moment),
        ):
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
    on_channel: ChannelHook | None = None,
) -> CycleResult:
    """Run ``slot`` unless it is done or another process is running it (blocking)."""
    owner = owner or default_owner()
    status, took_over, until = acquire_lease(slot, owner, now(), lease)
    if status != RUNNING:
        return CycleResult(slot, status, owner, lease_until=until)
    started = time.perf_counter()
    try:
        counts = provision(Path(homes_root), slot, owner, now, lease, chunk, on_channel)
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
        homes_created=counts["homes_created"],
        seconds=seconds,
        took_over=took_over,
    )
