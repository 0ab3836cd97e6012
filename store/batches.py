"""Received batch sets (FI/FS/GO): recording them, numbering acknowledgements, listing them.

The intake (``sync.intake``) decides whether a set is accepted; this module stores the
decision. ``record_acknowledged`` allocates, in the same IMMEDIATE transaction that inserts
the row, the ticket number (``ReferenceNbr``) and the server's own acknowledgement sequence,
and re-checks there that the set's name was not used before, so two processes can never
accept the same name twice nor hand out the same ticket.

``BatchSet.result`` holds the ACRF ``ResultCode``: 1 accepted, 0 rejected; a set cancelled by
a TD file has no acknowledgement and is stored with ``RESULT_CANCELLED`` (-1).
``processed_at`` stays NULL between the decision and the end of the file work (moves, ACRF):
a row left so by a crash is finished by the intake when the GO file is seen again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from peewee import SQL

from store import claims, retries
from store.access import require_role
from store.batchnames import acrf_name
from store.clock import local_now
from store.db import db, execute, write_transaction
from store.errors import Conflict
from store.models import ACTIVE, SFTP, BatchSet, Channel, Sender

RESULT_ACCEPTED = 1
RESULT_REJECTED = 0
RESULT_CANCELLED = -1
LAST_ACK_SEQUENCE = 99_999
_TICKET_KEY = "intake.ticket"
_ACK_KEY = "intake.ack_sequence.{env}"


@dataclass(frozen=True)
class BatchFile:
    name: str
    size: int


@dataclass(frozen=True)
class BatchError:
    """One problem found in a set: its ACRF error identifier and the file it concerns."""

    code: str
    file: str


@dataclass(frozen=True)
class NewBatchSet:
    """A set as the intake found it, before it is recorded."""

    sender_id: int
    channel_id: int | None
    go_name: str
    folder: str
    env: str
    purpose: str
    file_date: str
    sequence: str
    files: tuple[BatchFile, ...]
    received_at: datetime


@dataclass(frozen=True)
class BatchSetInfo(NewBatchSet):
    """A recorded set: what the intake found (``NewBatchSet``) and what became of it."""

    id: int
    total_bytes: int
    result: int | None
    errors: tuple[BatchError, ...]
    ticket: str | None
    ack_name: str | None
    processed_at: datetime | None

    @property
    def status(self) -> str:
        """``accepted``, ``rejected``, ``cancelled``, or ``pending`` (decided, not finished)."""
        if self.result == RESULT_CANCELLED:
            return "cancelled"
        if self.processed_at is None:
            return "pending"
        return "accepted" if self.result == RESULT_ACCEPTED else "rejected"

    @property
    def error_codes(self) -> tuple[str, ...]:
        return tuple(error.code for error in self.errors)


def _info(row: BatchSet) -> BatchSetInfo:
    files = tuple(BatchFile(f["name"], int(f["size"])) for f in json.loads(row.files))
    errors = tuple(BatchError(e["code"], e["file"]) for e in json.loads(row.errors))
    return BatchSetInfo(
        sender_id=row.sender_id,
        channel_id=row.channel_id,
        go_name=row.go_name,
        folder=row.folder,
        env=row.env,
        purpose=row.purpose,
        file_date=row.file_date,
        sequence=row.sequence,
        files=files,
        received_at=row.received_at,
        id=row.id,
        total_bytes=row.total_bytes,
        result=row.result,
        errors=errors,
        ticket=row.ticket,
        ack_name=row.ack_name,
        processed_at=row.processed_at,
    )


# The intake's statements are written out (peewee builds each query anew: on a burst of sets
# that was a third of the intake's time).
_COLUMNS = (
    "id, sender_id, channel_id, go_name, folder, env, purpose, file_date, sequence, files, "
    "total_bytes, result, errors, ticket, ack_name, received_at, processed_at"
)
_SAME_NAME = (
    "sender_id = ? AND file_date = ? AND sequence = ? AND env = ? "
    f"AND result IN ({RESULT_ACCEPTED}, {RESULT_REJECTED})"
)


def _info_of(values: Sequence[Any]) -> BatchSetInfo:
    """A ``batch_set`` row read with ``_COLUMNS``, as :func:`_info` makes it of a model."""
    (row_id, sender_id, channel_id, go_name, folder, env, purpose, file_date, sequence) = values[:9]
    files, total_bytes, result, errors, ticket, ack_name, received, processed = values[9:]
    return BatchSetInfo(
        sender_id=int(sender_id),
        channel_id=None if channel_id is None else int(channel_id),
        go_name=str(go_name),
        folder=str(folder),
        env=str(env),
        purpose=str(purpose),
        file_date=str(file_date),
        sequence=str(sequence),
        files=tuple(BatchFile(f["name"], int(f["size"])) for f in json.loads(str(files))),
        received_at=BatchSet.received_at.python_value(received),
        id=int(row_id),
        total_bytes=int(total_bytes),
        result=None if result is None else int(result),
        errors=tuple(BatchError(e["code"], e["file"]) for e in json.loads(str(errors))),
        ticket=None if ticket is None else str(ticket),
        ack_name=None if ack_name is None else str(ack_name),
        processed_at=BatchSet.processed_at.python_value(processed),
    )


def _values(new: NewBatchSet) -> dict[str, object]:
    return dict(
        sender=new.sender_id,
        channel=new.channel_id,
        go_name=new.go_name,
        folder=new.folder,
        env=new.env,
        purpose=new.purpose,
        file_date=new.file_date,
        sequence=new.sequence,
        files=json.dumps([{"name": f.name, "size": f.size} for f in new.files]),
        total_bytes=sum(f.size for f in new.files),
        received_at=new.received_at,
    )


def name_used(sender_id: int, sender_number: int, file_date: str, sequence: str, env: str) -> bool:
    """Whether an acknowledged set (accepted or rejected) already had this sender's name.

    Cancelled sets do not use their name. The sender number is compared on the stored GO
    name too, so a set rejected for carrying someone else's number blocks nothing.
    """
    number = f"{sender_number:06d}"
    rows = execute(
        f"SELECT go_name FROM batch_set WHERE {_SAME_NAME}", (sender_id, file_date, sequence, env)
    ).fetchall()
    return any(row[0].split(".")[2:3] == [number] for row in rows)


@dataclass(frozen=True)
class Decision:
    """A checked set to record (:func:`record_acknowledged`'s arguments): what was found,
    its problems, the acknowledgement's environment and date, the sender's number, the
    error of a used name (checked again when it is recorded) and the intake's claim."""

    new: NewBatchSet
    errors: Sequence[BatchError]
    ack_env: str
    today: date
    sender_number: int
    reuse_error: str | None = None
    claim: claims.Claim | None = None


def record_acknowledged(
    new: NewBatchSet,
    errors: Sequence[BatchError],
    ack_env: str,
    today: date,
    sender_number: int,
    reuse_error: str | None = None,
    claim: claims.Claim | None = None,
) -> BatchSetInfo:
    """Record a checked set with its ticket and acknowledgement name, in one transaction.

    With ``reuse_error``, the set's name is checked against the sets already recorded inside
    the same IMMEDIATE transaction; when it was used, ``reuse_error`` is added (first) to the
    errors and the set is rejected. With ``claim``, the set is recorded only if the claim is
    still ours (``claims.ClaimLost`` otherwise): one decision per set, whoever else runs.
    """
    decision = Decision(new, errors, ack_env, today, sender_number, reuse_error, claim)
    with write_transaction():
        claims.check(claim)
        return _record(decision)


def record_acknowledged_many(decisions: Sequence[Decision]) -> list[BatchSetInfo | None]:
    """:func:`record_acknowledged` for many sets in one transaction (one write lock, one
    commit: the intake's batches); None for a set whose claim was taken over meanwhile
    (not recorded), the others recorded in order."""
    recorded: list[BatchSetInfo | None] = []
    with write_transaction():
        for decision in decisions:
            if decision.claim is not None and not claims.holds(*decision.claim):
                recorded.append(None)
                continue
            recorded.append(_record(decision))
    return recorded


def _record(decision: Decision) -> BatchSetInfo:
    """Inside the caller's IMMEDIATE transaction: the set's row, ticket and ACRF name."""
    new = decision.new
    problems = list(decision.errors)
    already = {p.code for p in problems}
    reuse_error = decision.reuse_error
    if (
        reuse_error
        and reuse_error not in already
        and name_used(new.sender_id, decision.sender_number, new.file_date, new.sequence, new.env)
    ):
        problems.insert(0, BatchError(reuse_error, new.go_name))
    ticket = f"{_increment(_TICKET_KEY):012d}"
    ack_name = acrf_name(
        decision.today, _next_ack_sequence(decision.today, decision.ack_env), decision.ack_env
    )
    result = RESULT_REJECTED if problems else RESULT_ACCEPTED
    files = json.dumps([{"name": f.name, "size": f.size} for f in new.files])
    total = sum(f.size for f in new.files)
    errors_text = json.dumps([{"code": p.code, "file": p.file} for p in problems])
    row_id = execute(
        "INSERT INTO batch_set (sender_id, channel_id, go_name, folder, env, purpose, "
        "file_date, sequence, files, total_bytes, result, errors, ticket, ack_name, "
        "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            *(new.sender_id, new.channel_id, new.go_name, new.folder, new.env),
            *(new.purpose, new.file_date, new.sequence, files, total, result),
            *(errors_text, ticket, ack_name, BatchSet.received_at.db_value(new.received_at)),
        ),
    ).fetchone()[0]
    return BatchSetInfo(
        **{field: getattr(new, field) for field in NewBatchSet.__dataclass_fields__},
        id=int(row_id),
        total_bytes=total,
        result=result,
        errors=tuple(problems),
        ticket=ticket,
        ack_name=ack_name,
        processed_at=None,
    )


def record_cancelled(
    new: NewBatchSet, now: datetime | None = None, claim: claims.Claim | None = None
) -> BatchSetInfo:
    """Record a set cancelled by its TD file (no ticket, no acknowledgement); with ``claim``,
    only while it is ours, and it is released in the same transaction."""
    with db.atomic("IMMEDIATE"):
        claims.check(claim)
        row = BatchSet.create(
            **_values(new), result=RESULT_CANCELLED, errors="[]", processed_at=now or local_now()
        )
        if claim is not None:
            claims.release(*claim)
            retries.clear(claim[0])
    return _info(row)


def mark_processed(
    batch_id: int, at: datetime | None = None, claim: claims.Claim | None = None
) -> None:
    """The set's files are moved and its acknowledgement written; ``claim`` is released and
    the set's failed attempts forgotten (``store.retries``)."""
    with write_transaction(serialised=False):
        execute(
            "UPDATE batch_set SET processed_at = ? WHERE id = ?",
            (BatchSet.processed_at.db_value(at or local_now()), batch_id),
        )
        if claim is not None:
            claims.release(*claim)
            retries.clear(claim[0])


def mark_processed_many(
    done: Sequence[tuple[int, claims.Claim | None]], at: datetime | None = None
) -> None:
    """:func:`mark_processed` for many sets (id, claim), in one transaction."""
    if not done:
        return
    moment = BatchSet.processed_at.db_value(at or local_now())
    held = [claim for _, claim in done if claim is not None]
    with write_transaction(serialised=False):
        for start in range(0, len(done), 200):
            part = [batch_id for batch_id, _ in done[start : start + 200]]
            execute(
                f"UPDATE batch_set SET processed_at = ? WHERE id IN ({', '.join('?' * len(part))})",
                (moment, *part),
            )
        claims.release_many(held)
        retries.clear_many([key for key, _ in held])


@dataclass(frozen=True)
class NameState:
    """What the database knows of a GO name before its set is checked."""

    unfinished: BatchSetInfo | None  # decided but not finished (a crash): finish it
    used: bool  # an acknowledged set of this sender had the name


def name_state(
    sender_id: int,
    sender_number: int,
    folder: str,
    go_name: str,
    file_date: str,
    sequence: str,
    env: str,
) -> NameState:
    """One query for both questions the intake asks before checking a set."""
    rows = execute(
        f"SELECT {_COLUMNS} FROM batch_set WHERE {_SAME_NAME} ORDER BY id DESC",
        (sender_id, file_date, sequence, env),
    ).fetchall()
    # go_name is the 4th column, folder the 5th, processed_at the last
    unfinished = next(
        (row for row in rows if row[-1] is None and row[4] == folder and row[3] == go_name),
        None,
    )
    number = f"{sender_number:06d}"
    used = any(row[3].split(".")[2:3] == [number] for row in rows)
    return NameState(_info_of(unfinished) if unfinished is not None else None, used)


def unfinished_sets(sender_id: int) -> list[BatchSetInfo]:
    """The sender's sets recorded (decided, ticket given) but not marked processed: a crash
    came between the two. Oldest first."""
    query = (
        BatchSet.select()
        .where(
            (BatchSet.sender == sender_id)
            & BatchSet.processed_at.is_null()
            & BatchSet.result.in_((RESULT_ACCEPTED, RESULT_REJECTED))
        )
        .order_by(SQL("id"))
    )
    return [_info(row) for row in query]


def recorded_sequences(sender_id: int, file_date: str, env: str) -> set[int]:
    """Every numeric sequence recorded for the sender, date and environment (any result)."""
    query = BatchSet.select(BatchSet.sequence).where(
        (BatchSet.sender == sender_id) & (BatchSet.file_date == file_date) & (BatchSet.env == env)
    )
    return {int(row.sequence) for row in query if row.sequence.isascii() and row.sequence.isdigit()}


def sender_batch_sets(sender_id: int, limit: int = 50, offset: int = 0) -> list[BatchSetInfo]:
    """The sender's sets, newest first."""
    query = (
        BatchSet.select()
        .where(BatchSet.sender == sender_id)
        .order_by(SQL("received_at DESC"), SQL("id DESC"))
        .limit(limit)
        .offset(offset)
    )
    return [_info(row) for row in query]


def list_batch_sets(
    actor_id: int, qualite_id: int, limit: int = 50, offset: int = 0
) -> list[BatchSetInfo]:
    """The sets received from the qualité's sender, newest first (any role may look)."""
    require_role(actor_id, qualite_id)
    sender = Sender.get_or_none(Sender.qualite == qualite_id)
    if sender is None:
        return []
    return sender_batch_sets(sender.id, limit, offset)


def default_sender_number(certificate_der: bytes | None = None) -> int | None:
    """The sender a prepared set is most likely for.

    The active sender whose live SFTP channel holds ``certificate_der`` when there is one,
    else the only (or first, by number) active sender; None when there is none.
    """
    active = Sender.select().where(Sender.active == True)  # noqa: E712
    if certificate_der is not None:
        holder = (
            active.join(Channel)
            .where(
                (Channel.kind == SFTP)
                & (Channel.status == ACTIVE)
                & (Channel.certificate == certificate_der)
            )
            .order_by(Sender.number)
            .first()
        )
        if holder is not None:
            return int(holder.number)
    first = active.order_by(Sender.number).first()
    return int(first.number) if first is not None else None


def sender_id_of(number: int) -> int | None:
    row = Sender.get_or_none(Sender.number == number)
    return int(row.id) if row is not None else None


def _increment(key: str) -> int:
    """Add one to an integer setting (1 when new), in one statement."""
    cursor = execute(
        "INSERT INTO setting (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE "
        "SET value = CAST(setting.value AS INTEGER) + 1 RETURNING value",
        (key,),
    )
    return int(cursor.fetchone()[0])


def _next_ack_sequence(today: date, env: str) -> int:
    """The server's own sequence for ``FO.ACRF.999999.<today>.SEQ.<env>``, from 1 each day.

    The setting holds ``YYYYMMDD:N``; a new day starts again from 1.
    """
    stamp = f"{today:%Y%m%d}"
    cursor = execute(
        "INSERT INTO setting (key, value) VALUES (?, ? || ':1') ON CONFLICT (key) DO UPDATE "
        "SET value = CASE WHEN substr(setting.value, 1, 9) = ? || ':' "
        "THEN ? || ':' || (CAST(substr(setting.value, 10) AS INTEGER) + 1) ELSE ? || ':1' END "
        "RETURNING value",
        (_ACK_KEY.format(env=env), stamp, stamp, stamp, stamp),
    )
    value = int(cursor.fetchone()[0].partition(":")[2])
    if value > LAST_ACK_SEQUENCE:
        raise Conflict(
            "intake.ack_sequences_exhausted", "no acknowledgement sequence left today", env=env
        )
    return value
