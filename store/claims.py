"""Claims on work that must be done once, whoever else shares the database.

The batch intake claims a set (its home, folder and name) before it reads a file of it, so
that any number of intakes on one database — processes on one machine or on several — answer
each GO once. A claim is a row ``intake_claim(key, owner, lease_until)``:

- :func:`claim` takes the key when nobody holds it, when its lease ran out, when the holder
  is this owner, or when the holder is a process of this machine that no longer exists (a
  ``kill -9``: no need to wait for the lease);
- :func:`holds` says, inside the caller's transaction, whether the claim is still ours
  (the intake records its decision only then, so a claim taken over after a stall never
  gives a set two answers), and renews it;
- :func:`release` deletes it once the set is finished.

:func:`claim_many` and :func:`release_many` do the same for many keys in one transaction (the
intake's batches when a backlog waits: one write lock and one commit for all of them).

Lease times are wall-clock seconds since the epoch (``time.time()``), not the domain clock:
they must mean the same in every process. The locking is here and only here: on SQLite an
IMMEDIATE transaction serialises the claimers; on PostgreSQL the claim row's own lock does
(``INSERT … ON CONFLICT DO NOTHING``, then ``SELECT … FOR UPDATE SKIP LOCKED``: a row another
transaction has in hand is theirs), and claimers of different sets never wait for each other.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence

from store.db import db, execute, is_postgresql, write_transaction

LEASE_SECONDS = 120.0


class ClaimLost(Exception):
    """Another owner took the claim over (ours had run out): leave the set to it."""


Claim = tuple[str, str]  # (key, owner)
_HOST = socket.gethostname()


def new_owner() -> str:
    """``host:pid:random``: unique per intake, and says which process of which machine."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str) -> bool:
    """Whether ``owner`` was a process of this machine that has ended."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(key: str, owner: str, lease: float = LEASE_SECONDS) -> bool:
    """Take ``key`` for ``owner`` for ``lease`` seconds; False when another holds it."""
    now = time.time()
    if is_postgresql():
        return _claim_postgresql(key, owner, now, lease)
    with write_transaction():
        row = execute(
            "SELECT owner, lease_until FROM intake_claim WHERE key = ?", (key,)
        ).fetchone()
        if row is not None and row[0] != owner and row[1] >= now and not owner_gone(row[0]):
            return False
        execute(
            "INSERT INTO intake_claim (key, owner, lease_until) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, "
            "lease_until = excluded.lease_until",
            (key, owner, now + lease),
        )
    return True


def claim_many(keys: Sequence[str], owner: str, lease: float = LEASE_SECONDS) -> set[str]:
    """:func:`claim` for each of ``keys`` in one transaction; the keys now ``owner``'s."""
    if not keys:
        return set()
    now = time.time()
    wanted = sorted(set(keys))  # one order for every claimer: PostgreSQL's waits never cross
    if is_postgresql():
        return _claim_many_postgresql(wanted, owner, now, lease)
    taken: set[str] = set()
    with write_transaction():
        held = {
            row[0]: (row[1], row[2])
            for part in _chunks(wanted)
            for row in execute(
                f"SELECT key, owner, lease_until FROM intake_claim WHERE key IN ({_marks(part)})",
                part,
            ).fetchall()
        }
        for key in wanted:
            row = held.get(key)
            if row is not None and row[0] != owner and row[1] >= now and not owner_gone(row[0]):
                continue
            taken.add(key)
        if taken:
            db.cursor().executemany(
                "INSERT INTO intake_claim (key, owner, lease_until) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, "
                "lease_until = excluded.lease_until",
                [(key, owner, now + lease) for key in sorted(taken)],
            )
    return taken


def _claim_many_postgresql(keys: list[str], owner: str, now: float, lease: float) -> set[str]:
    taken: set[str] = set()
    with db.atomic():
        for part in _chunks(keys):
            rows = execute(
                "INSERT INTO intake_claim (key, owner, lease_until) VALUES "
                + ", ".join("(?, ?, ?)" for _ in part)
                + " ON CONFLICT (key) DO NOTHING RETURNING key",
                [value for key in part for value in (key, owner, now + lease)],
            ).fetchall()
            taken.update(row[0] for row in rows)
        rest = [key for key in keys if key not in taken]
        for part in _chunks(rest):
            rows = execute(
                f"SELECT key, owner, lease_until FROM intake_claim WHERE key IN ({_marks(part)}) "
                "ORDER BY key FOR UPDATE SKIP LOCKED",
                part,
            ).fetchall()
            free = [row[0] for row in rows if row[1] == owner or row[2] < now or owner_gone(row[1])]
            if free:
                execute(
                    f"UPDATE intake_claim SET owner = ?, lease_until = ? "
                    f"WHERE key IN ({_marks(free)})",
                    [owner, now + lease, *free],
                )
                taken.update(free)
    return taken


def _chunks(keys: Sequence[str], size: int = 200) -> list[Sequence[str]]:
    return [keys[start : start + size] for start in range(0, len(keys), size)]


def _marks(part: Sequence[str]) -> str:
    return ", ".join("?" for _ in part)


def _claim_postgresql(key: str, owner: str, now: float, lease: float) -> bool:
    with db.atomic():
        taken = execute(
            "INSERT INTO intake_claim (key, owner, lease_until) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING RETURNING owner",
            (key, owner, now + lease),
        ).fetchone()
        if taken is not None:
            return True
        row = execute(
            "SELECT owner, lease_until FROM intake_claim WHERE key = ? FOR UPDATE SKIP LOCKED",
            (key,),
        ).fetchone()
        if row is None:  # another claimer or holder has the row in hand (or just released it)
            return False
        if row[0] != owner and row[1] >= now and not owner_gone(row[0]):
            return False
        execute(
            "UPDATE intake_claim SET owner = ?, lease_until = ? WHERE key = ?",
            (owner, now + lease, key),
        )
    return True


def holds(key: str, owner: str, lease: float = LEASE_SECONDS) -> bool:
    """Inside the caller's (IMMEDIATE) transaction: whether ``owner`` still holds ``key``;
    if so the lease is renewed."""
    cursor = execute(
        "UPDATE intake_claim SET lease_until = ? WHERE key = ? AND owner = ?",
        (time.time() + lease, key, owner),
    )
    return bool(cursor.rowcount)


def check(held: Claim | None) -> None:
    """Inside the caller's transaction: ClaimLost unless ``held`` is still ours (None: no
    claim to check)."""
    if held is not None and not holds(*held):
        raise ClaimLost(f"claim on {held[0]} lost by {held[1]}")


def release(key: str, owner: str) -> None:
    """Give ``key`` up (only if ``owner`` holds it); inside or outside a transaction."""
    with db.atomic():
        execute("DELETE FROM intake_claim WHERE key = ? AND owner = ?", (key, owner))


def release_many(held: Sequence[Claim]) -> None:
    """:func:`release` each of ``held`` (key, owner), in one transaction."""
    if held:
        with db.atomic():
            db.cursor().executemany(
                _param("DELETE FROM intake_claim WHERE key = ? AND owner = ?"), list(held)
            )


def _param(sql: str) -> str:
    return sql if db.param == "?" else sql.replace("%", "%%").replace("?", db.param)
