"""What the service's operators look at: certificates about to expire, sets received, cycles.

Plain queries returning frozen dataclasses, for ``expedito report``, the Prometheus metrics
(``sync.metrics``) and the *Exploitation* pages. No role check here: the command line runs
on the database's own machine, with the operator's rights on the file.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from peewee import JOIN, SQL, fn

from store.batches import RESULT_ACCEPTED, RESULT_CANCELLED, RESULT_REJECTED
from store.credentials import describe_certificate, load_certificate
from store.db import is_postgresql
from store.models import (
    ACTIVE,
    PENDING,
    AuditEntry,
    BatchSet,
    Channel,
    Organisation,
    Person,
    Qualite,
    Sender,
    SyncCycle,
)

DEFAULT_WITHIN_DAYS = 60


@dataclass(frozen=True)
class ExpiringCertificate:
    """A channel whose signing certificate expires within the asked number of days."""

    sender_number: int
    organisation: str
    qualite_id: int
    technical_user: str
    channel: str  # SFTP, FTP, …
    owner: str  # the certificate's owner (subject CN)
    expires_on: date
    days_left: int  # negative: already expired


def expiring_certificates(
    within_days: int = DEFAULT_WITHIN_DAYS, today: date | None = None, qualite_id: int | None = None
) -> list[ExpiringCertificate]:
    """Live channels (active or waiting for the sync) whose certificate expires within
    ``within_days`` of ``today`` (or has expired), soonest first."""
    today = today or date.today()
    query = (
        Channel.select(Channel, Sender, Qualite, Organisation)
        .join(Sender)
        .join(Qualite)
        .join(Organisation)
        .where(Channel.status.in_((ACTIVE, PENDING)) & Channel.certificate.is_null(False))
    )
    if qualite_id is not None:
        query = query.where(Sender.qualite == qualite_id)
    found: list[ExpiringCertificate] = []
    for channel in query:
        try:
            info = describe_certificate(load_certificate(bytes(channel.certificate or b"")))
        except ValueError:
            continue
        expires = info.not_after.date()
        days = (expires - today).days
        if days <= within_days:
            sender = channel.sender
            found.append(
                ExpiringCertificate(
                    int(sender.number),
                    sender.qualite.organisation.name,
                    int(sender.qualite_id),
                    sender.technical_user,
                    channel.kind,
                    info.owner,
                    expires,
                    days,
                )
            )
    return sorted(found, key=lambda c: (c.expires_on, c.sender_number, c.channel))


@dataclass(frozen=True)
class ReceivedSet:
    received_at: datetime
    processed_at: datetime | None
    sender_number: int
    go_name: str
    folder: str
    env: str
    purpose: str
    status: str  # accepted, rejected, cancelled, pending
    errors: tuple[str, ...]
    ticket: str | None
    ack_name: str | None
    total_bytes: int


def _status(result: int | None, processed_at: datetime | None) -> str:
    if result == RESULT_CANCELLED:
        return "cancelled"
    if processed_at is None:
        return "pending"
    return "accepted" if result == RESULT_ACCEPTED else "rejected"


def _received(row: BatchSet) -> ReceivedSet:
    """A set as the operators see it (``row`` selected with its sender's number)."""
    return ReceivedSet(
        row.received_at,
        row.processed_at,
        int(row.sender.number),
        row.go_name,
        row.folder,
        row.env,
        row.purpose,
        _status(row.result, row.processed_at),
        tuple(e["code"] for e in json.loads(row.errors)),
        row.ticket,
        row.ack_name,
        int(row.total_bytes),
    )


def sets_since(since: date, limit: int | None = None) -> list[ReceivedSet]:
    """Every set received from ``since`` (00:00) on, oldest first."""
    query = (
        BatchSet.select(BatchSet, Sender.number)
        .join(Sender)
        .where(BatchSet.received_at >= datetime.combine(since, datetime.min.time()))
        .order_by(SQL("received_at"), SQL("t1.id"))
    )
    if limit is not None:
        query = query.limit(limit)
    return [_received(row) for row in query]


@dataclass(frozen=True)
class SetTotals:
    """Sets recorded, by result (accepted, rejected, cancelled, pending) and by ErrorID."""

    by_result: dict[str, int]
    by_error: dict[str, int]


def set_totals() -> SetTotals:
    results: Counter[str] = Counter()
    cursor = BatchSet._meta.database.execute_sql(
        "SELECT result, processed_at IS NULL, COUNT(*) FROM batch_set GROUP BY 1, 2"
    )
    for result, unfinished, count in cursor.fetchall():
        results[_status(result, None if unfinished else datetime.min)] += int(count)
    errors: Counter[str] = Counter()
    for row in BatchSet.select(BatchSet.errors).where(BatchSet.result == RESULT_REJECTED):
        errors.update(e["code"] for e in json.loads(row.errors))
    return SetTotals(dict(results), dict(errors))


def top_errors(since: datetime, limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent ErrorIDs of the sets rejected since ``since``."""
    errors: Counter[str] = Counter()
    for row in BatchSet.select(BatchSet.errors).where(
        (BatchSet.result == RESULT_REJECTED) & (BatchSet.received_at >= since)
    ):
        errors.update(e["code"] for e in json.loads(row.errors))
    return errors.most_common(limit)


@dataclass(frozen=True)
class CycleInfo:
    slot: datetime
    node: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    provisioned: int

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


def recent_cycles(limit: int = 48) -> list[CycleInfo]:
    """The latest cycles, newest first; times are aware (UTC, as the table keeps them)."""

    def utc(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None

    return [
        CycleInfo(
            row.slot.replace(tzinfo=UTC),
            row.owner,
            row.started_at.replace(tzinfo=UTC),
            utc(row.finished_at),
            row.status,
            int(row.provisioned),
        )
        for row in SyncCycle.select().order_by(SQL("slot DESC")).limit(limit)
    ]


def daily_results(days: int = 30, today: date | None = None) -> dict[str, list[tuple[int, int]]]:
    """Per purpose (file-name code), for each of the last ``days`` days (oldest first), the
    sets accepted and rejected that day."""
    today = today or date.today()
    first = today - timedelta(days=days - 1)
    series: dict[str, list[tuple[int, int]]] = {}
    query = BatchSet.select(BatchSet.purpose, BatchSet.result, BatchSet.received_at).where(
        (BatchSet.received_at >= datetime.combine(first, datetime.min.time()))
        & BatchSet.result.in_((RESULT_ACCEPTED, RESULT_REJECTED))
        & BatchSet.processed_at.is_null(False)
    )
    for row in query:
        index = (row.received_at.date() - first).days
        if not 0 <= index < days:
            continue
        counts = series.setdefault(row.purpose, [(0, 0)] * days)
        accepted, rejected = counts[index]
        counts[index] = (
            (accepted + 1, rejected) if row.result == RESULT_ACCEPTED else (accepted, rejected + 1)
        )
    return dict(sorted(series.items()))


def waiting_sets() -> list[ReceivedSet]:
    """Sets decided but not finished (their files or ACRF still to write: a crash, or being
    worked on now), oldest first."""
    query = (
        BatchSet.select(BatchSet, Sender.number)
        .join(Sender)
        .where(
            BatchSet.processed_at.is_null()
            & BatchSet.result.in_((RESULT_ACCEPTED, RESULT_REJECTED))
        )
        .order_by(SQL("received_at"))
    )
    return [_received(row) for row in query]  # all pending: none is processed


@dataclass(frozen=True)
class JournalEntry:
    at: datetime
    actor: str  # the person's login, or "" (the system)
    organisation: str  # the qualité's organisation, or ""
    action: str
    details: str  # key=value pairs


def journal(search: str = "", limit: int = 50, offset: int = 0) -> list[JournalEntry]:
    """The audit trail, newest first; ``search`` (words, all must match, any case) looks in
    the actor's login, the organisation, the action, the details and the date
    (``YYYY-MM-DD``)."""
    query = (
        # the joined rows' ids too: without them peewee sets person and qualite to None
        AuditEntry.select(
            AuditEntry, Person.id, Person.login, Qualite.id, Organisation.id, Organisation.name
        )
        .join(Person, JOIN.LEFT_OUTER, on=(AuditEntry.person == Person.id))
        .switch(AuditEntry)
        .join(Qualite, JOIN.LEFT_OUTER, on=(AuditEntry.qualite == Qualite.id))
        .join(Organisation, JOIN.LEFT_OUTER, on=(Qualite.organisation == Organisation.id))
        .order_by(AuditEntry.at.desc(), SQL("t1.id DESC"))
    )
    for word in search.split():
        pattern = f"%{word}%"
        query = query.where(
            Person.login**pattern
            | Organisation.name**pattern
            | AuditEntry.action**pattern
            | AuditEntry.details**pattern
            | _day(AuditEntry.at) ** pattern
        )
    entries: list[JournalEntry] = []
    for row in query.limit(limit).offset(offset):
        person = row.person if row.person_id is not None else None
        qualite = row.qualite if row.qualite_id is not None else None
        details = json.loads(row.details or "{}")
        entries.append(
            JournalEntry(
                row.at,
                person.login if person is not None else "",
                qualite.organisation.name if qualite is not None else "",
                row.action,
                " ".join(f"{key}={value}" for key, value in sorted(details.items())),
            )
        )
    return entries


def _day(column: Any) -> Any:
    """``column``'s date as YYYY-MM-DD text (SQLite's ``strftime``, PostgreSQL's ``to_char``)."""
    if is_postgresql():
        return fn.to_char(column, "YYYY-MM-DD")
    return fn.strftime("%Y-%m-%d", column)
