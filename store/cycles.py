"""The provisioning cycle's rows: the lease on a slot, and the channels a cycle has to handle.

A ``SyncCycle`` row per slot (``slot`` is unique) is the lease, with its ``owner`` and
``lease_until``: whoever creates the row, or finds it with an expired lease, runs the slot.
Slots and the lease's times are given and stored as naive **UTC** (``sync.schedule.slot_key``
makes them), so the autumn hour that repeats does not mix two slots; ``Channel`` times stay
naive local. The schedule is ``sync.cycle``'s (no file is touched: homes are made at login);
this module only reads and writes the rows, each write in one IMMEDIATE transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import CTE, SQL, Select, fn

from store.db import db, is_postgresql
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
            & _to_handle(Channel)
        )
        .order_by(Channel.id)
        .tuples()
    )
    return [ChannelWork(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in query]


@dataclass(frozen=True)
class Chunk:
    """What one step of the cycle did: how many channels it activated of each ``(kind, status
    before)``, how many it read (``read``: fewer than asked means the last step), and the last
    id read (where the next step starts)."""

    counts: dict[tuple[str, str], int]
    last_id: int
    read: int

    @property
    def size(self) -> int:
        return sum(self.counts.values())


# Stand-ins compiled into the step's statements, replaced by each step's values: peewee takes
# milliseconds to build a statement that SQLite runs in less (the statements are built once).
_AFTER, _LIMIT, _LAST = -(2**61) - 17, 2**61 + 19, 2**61 + 23
_NOW = datetime(1901, 2, 3, 4, 5, 6, 789012)

Statement = tuple[str, list[Any]]


def _to_handle(model: Any) -> Any:
    """``work_to_do``'s condition on the channel (``model``): pending, or a key to provision."""
    return (model.status == PENDING) | model.key_change_pending


def _work_query() -> Any:
    """The next chunk to handle: ``work_to_do``'s channels after ``_AFTER``, ``_LIMIT`` of
    them in id order."""
    channel_id: Any = Channel.id  # the declared ``int`` is the column here
    return (
        Channel.select(Channel.id, Channel.kind, Channel.status)
        .join(Sender)
        .where((channel_id > _AFTER) & (Sender.active == True) & _to_handle(Channel))  # noqa: E712
        .order_by(Channel.id)
        .limit(_LIMIT)
    )


def _activation() -> Any:
    """What activating a channel writes: its registered key becomes the provisioned one."""
    return Channel.update(
        status=ACTIVE,
        provisioned_key=Channel.ssh_key,
        provisioned_at=_NOW,
        activated_at=fn.COALESCE(Channel.activated_at, _NOW),
    )


@functools.lru_cache(maxsize=4)
def _step_statements(database: Any) -> tuple[Statement, Statement]:
    """The step's SELECT (its chunk by kind and status) and UPDATE, as SQL and parameters
    with the stand-ins, for ``database`` (its dialect)."""
    channel_id: Any = Channel.id
    work = _work_query().alias("work")
    summary = Select(
        [work], [work.c.kind, work.c.status, fn.COUNT(work.c.id), fn.MAX(work.c.id)]
    ).group_by(work.c.kind, work.c.status)
    update = _activation().where(  # the range first: the chunk's rows, not the whole table
        (channel_id > _AFTER) & (channel_id <= _LAST) & channel_id.in_(Select([work], [work.c.id]))
    )
    summary_sql, summary_params = summary.bind(database).sql()
    update_sql, update_params = update.bind(database).sql()
    return (summary_sql, list(summary_params)), (update_sql, list(update_params))


@functools.lru_cache(maxsize=4)
def _one_statement(database: Any) -> Statement:
    """PostgreSQL: the step as one statement. The chunk is read once (``work``), updated
    from it, and the statement answers the activated rows by kind and status before, and one
    row ``(NULL, NULL, rows read, last id read)``. The UPDATE checks the condition again:
    a channel removed or changed since ``work`` read it is left as it now is."""
    channel_id: Any = Channel.id
    work = _work_query().cte("work")
    update = (
        _activation()
        .from_(work)
        .where((channel_id == work.c.id) & _to_handle(Channel))
        .returning(Channel.kind, work.c.status, Channel.id)
    )
    done = CTE("done", update)
    activated = Select(
        [done], [done.c.kind, done.c.status, fn.COUNT(done.c.id), fn.MAX(done.c.id)]
    ).group_by(done.c.kind, done.c.status)
    read = Select([work], [SQL("NULL"), SQL("NULL"), fn.COUNT(work.c.id), fn.MAX(work.c.id)])
    query = (activated | read).with_cte(work, done)
    sql, params = query.bind(database).sql()
    return sql, list(params)


def _filled(
    params: list[Any], after: int, limit: int, now_local: datetime, last: int = 0
) -> list[Any]:
    values = {_AFTER: after, _LIMIT: limit, _LAST: last}
    return [
        now_local
        if isinstance(p, datetime) and p == _NOW
        else values.get(p, p)
        if type(p) is int
        else p
        for p in params
    ]


# PostgreSQL, for the step's transaction only. The chunk must be read along the primary key
# from ``after``, whatever the planner's guesses: psycopg prepares a statement run five times,
# and a generic plan (the range unknown) reads the whole table; statistics taken during the
# cycle (most channels active) make a sequential scan and a sort look cheaper. Either reads the
# whole table at each chunk: quadratic over a cycle. The step's commit need not wait for its
# WAL to reach the disk: the cycle is idempotent (a step lost in a crash is done again when
# the slot is run again, as it is not done), and ``finish_cycle``'s commit, which does wait,
# makes every step before it durable (the WAL is written in order).
_STEP_SETTINGS = (
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),"
    " set_config('synchronous_commit', 'off', true)"
)


def activate_next(
    slot: datetime,
    owner: str,
    until: datetime,
    after: int,
    chunk: int,
    now_local: datetime,
    before_commit: Callable[[int], None] | None = None,
) -> Chunk:
    """The cycle's step: in one transaction, renew our lease to ``until`` and activate the
    next ``chunk`` channels to handle after id ``after`` (``work_to_do``'s, in id order; at
    ``now_local``): their registered keys become the provisioned ones. No row goes through
    Python, nothing is done on disk: on PostgreSQL one statement for the chunk; on SQLite one
    SELECT counting it by kind and status, and one UPDATE. ``LeaseLost``, and nothing
    changed, when the slot is no longer ours. ``before_commit(size)`` runs before the commit
    (tests: a crash half-way)."""
    with db.atomic("IMMEDIATE"):
        if is_postgresql():
            db.execute_sql(_STEP_SETTINGS)
            _renew(slot, owner, until)
            done = _activate_postgresql(after, chunk, now_local)
        else:
            _renew(slot, owner, until)
            done = _activate_sqlite(after, chunk, now_local)
        if before_commit is not None:
            before_commit(done.size)
    return done


def _activate_postgresql(after: int, chunk: int, now_local: datetime) -> Chunk:
    sql, params = _one_statement(db.obj)
    counts: dict[tuple[str, str], int] = {}
    read, last = 0, after
    for kind, status, count, last_id in db.execute_sql(
        sql, _filled(params, after, chunk, now_local)
    ).fetchall():
        if kind is None:
            read, last = int(count), max(last, int(last_id or after))
        else:
            counts[(str(kind), str(status))] = int(count)
    return Chunk(counts, last, read)


def _activate_sqlite(after: int, chunk: int, now_local: datetime) -> Chunk:
    (summary_sql, summary_params), (update_sql, update_params) = _step_statements(db.obj)
    counts: dict[tuple[str, str], int] = {}
    last = after
    cursor = db.execute_sql(summary_sql, _filled(summary_params, after, chunk, now_local))
    for kind, status, count, last_id in cursor.fetchall():
        counts[(str(kind), str(status))] = int(count)
        last = max(last, int(last_id))
    if counts:
        db.execute_sql(update_sql, _filled(update_params, after, chunk, now_local, last))
    return Chunk(counts, last, sum(counts.values()))  # one transaction: all read are activated


def _renew(slot: datetime, owner: str, until: datetime) -> None:
    updated = (
        SyncCycle.update(lease_until=until)
        .where(
            (SyncCycle.slot == slot) & (SyncCycle.owner == owner) & (SyncCycle.status == RUNNING)
        )
        .execute()
    )
    if updated != 1:
        raise LeaseLost(f"lease on {slot} lost by {owner}")


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
