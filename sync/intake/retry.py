"""Which failures of the intake are temporary, and when to try again.

A set whose work fails for a reason that goes away by itself — the database locked by
another writer beyond the busy timeout, a full disk in the spool, the homes or the database
directory, a folder made unwritable for a while — is not answered with a rejection: its GO
stays where it is and the intake tries again later, each time after a longer wait
(:func:`backoff`: 1, 2, 4 … seconds, at most ``MAX_DELAY``), one log line per attempt, with
no restart needed. The intake writes each failed attempt in the database
(``store.retries``) so that the operators see the sets failing. Any other error while
*checking* a set is answered with the internal error identifier
(``sync.intake.checks.INTERNAL_ERROR``).
"""

from __future__ import annotations

import errno
import sqlite3

import peewee

MAX_DELAY = 60.0
_TEMPORARY_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOMEM,
        errno.EAGAIN,
        errno.EBUSY,
    }
)
_TEMPORARY_DATABASE = (
    "locked",
    "busy",
    "full",
    "disk i/o",
    "readonly",
    "unable to open",
    # PostgreSQL: a lock waited for too long, a deadlock broken, the server gone or restarting
    "lock timeout",
    "deadlock detected",
    "could not serialize",
    "connection",
    "the database system is",
)


def is_temporary(exc: BaseException) -> bool:
    """Whether ``exc`` may go away by itself (then the work is retried, not answered); the
    error it was raised while handling counts too (SQLite rolls a transaction back itself
    on a full disk, and the rollback that follows fails: "no transaction is active")."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if _temporary(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _temporary(exc: BaseException) -> bool:
    if isinstance(exc, peewee.OperationalError | sqlite3.OperationalError):
        text = str(exc).lower()
        return any(word in text for word in _TEMPORARY_DATABASE)
    if isinstance(exc, OSError):
        return exc.errno in _TEMPORARY_ERRNOS
    return False


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` ≥ 1 failed so far)."""
    return min(MAX_DELAY, 2.0 ** (attempt - 1))
