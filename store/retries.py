"""Sets whose intake failed and waits for another attempt, for the operators' *Réception*.

The intake (``sync.intake.service``) retries a set whose work failed — a temporary failure
(the database locked, a full disk, …) or an unexpected one — with a growing delay. Each
failure is written here (:func:`record_failure`): one row per set, keyed as its claim
(``store.claims``: user/folder/name without its type), with the attempts so far (across
intakes: a restarted one goes on counting), the last error and the next try. The row goes
when the set is answered or cancelled (:func:`clear`, inside the transaction that records
it: ``store.batches``), or when its GO is gone. *Réception*, in another process, lists
them (:func:`failing`).

Writing a failure may fail too (the database is what is failing): the intake then logs it
and the row is written at a later attempt. Times are wall-clock seconds since the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.db import db, execute, greatest

ERROR_LENGTH = 300  # of the last error's text kept


@dataclass(frozen=True)
class FailingSet:
    key: str
    technical_user: str
    sender_number: int
    folder: str
    name: str  # the GO (or TD) file
    attempts: int
    temporary: bool  # a failure that may go away by itself (else: unexpected)
    last_error: str
    first_failed_at: datetime  # aware, UTC
    last_failed_at: datetime
    next_try: datetime
    owner: str  # the intake that will try again (host:pid:random)


def record_failure(
    key: str,
    technical_user: str,
    sender_number: int,
    folder: str,
    name: str,
    attempts: int,
    temporary: bool,
    error: str,
    delay: float,
    owner: str,
    now: float | None = None,
) -> int:
    """Write a failed attempt; returns the attempts counted for the set (``attempts``, or
    one more than an earlier intake counted, whichever is more)."""
    now = time.time() if now is None else now
    with db.atomic():
        execute(
            "INSERT INTO intake_retry (key, technical_user, sender_number, folder, name, "
            "attempts, temporary, last_error, first_failed_at, last_failed_at, next_try, owner) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            f"name = excluded.name, attempts = {greatest()}(intake_retry.attempts + 1, "
            "excluded.attempts), "
            "temporary = excluded.temporary, last_error = excluded.last_error, "
            "last_failed_at = excluded.last_failed_at, next_try = excluded.next_try, "
            "owner = excluded.owner",
            (
                key,
                technical_user,
                sender_number,
                folder,
                name,
                attempts,
                int(temporary),
                error[:ERROR_LENGTH],
                now,
                now,
                now + delay,
                owner,
            ),
        )
        row = execute("SELECT attempts FROM intake_retry WHERE key = ?", (key,)).fetchone()
    return int(row[0])


def clear(key: str) -> None:
    """The set is answered, cancelled or gone: no more retries to show. Inside the caller's
    transaction, or in one of its own."""
    with db.atomic():
        execute("DELETE FROM intake_retry WHERE key = ?", (key,))


def clear_many(keys: Sequence[str]) -> None:
    """:func:`clear` each of ``keys``, in one transaction."""
    for start in range(0, len(keys), 200):
        part = keys[start : start + 200]
        with db.atomic():
            execute(f"DELETE FROM intake_retry WHERE key IN ({', '.join('?' * len(part))})", part)


def _utc(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


def failing(limit: int = 50) -> list[FailingSet]:
    """The sets waiting for another attempt, the longest failing first."""
    cursor = execute(
        "SELECT key, technical_user, sender_number, folder, name, attempts, temporary, "
        "last_error, first_failed_at, last_failed_at, next_try, owner FROM intake_retry "
        "ORDER BY first_failed_at, key LIMIT ?",
        (limit,),
    )
    return [
        FailingSet(
            row[0],
            row[1],
            int(row[2]),
            row[3],
            row[4],
            int(row[5]),
            bool(row[6]),
            row[7],
            _utc(row[8]),
            _utc(row[9]),
            _utc(row[10]),
            row[11],
        )
        for row in cursor.fetchall()
    ]
