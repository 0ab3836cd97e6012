"""PostgreSQL: the store on a server (``--db postgresql://USER@HOST:PORT/DB``).

peewee's psycopg 3 database, with what differs from SQLite kept here:

- ``db.atomic("IMMEDIATE")``: SQLite takes the write lock at ``BEGIN IMMEDIATE``, so a
  read-modify-write sees no other writer in between. Here the transaction begins (READ
  COMMITTED) and takes a transaction-scoped advisory lock (``WRITE_LOCK``): those
  transactions take turns the same way; plain ``db.atomic()`` ones do not wait for them.
- the migrations' DDL (:func:`ddl`): SQLite's column types as PostgreSQL's; the person search's
  trigram index (migration 0006).
- a statement waits at most the busy timeout for a lock (``lock_timeout``), as SQLite's
  ``busy_timeout``; the intake retries what then fails.

psycopg is imported only when a PostgreSQL URL is given: the SQLite start stays as light.
"""

from __future__ import annotations

import contextlib
import re
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import peewee

from store.lazy_psycopg import load_psycopg

load_psycopg()  # peewee was imported without it (store.lazy_psycopg)

from playhouse.postgres_ext import Psycopg3Database  # noqa: E402
from psycopg.pq import TransactionStatus  # noqa: E402

WRITE_LOCK = 0x45585044  # "EXPD": the advisory lock of IMMEDIATE transactions
MIGRATION_LOCK = 0x45585044 + 1
CONNECT_TIMEOUT = 5  # seconds to reach the server at start


def _lost(conn: Any) -> bool:
    """Whether an idle connection is gone: psycopg saw it break, or the server spoke out of
    turn, which it does only to end it (``FATAL: terminating connection``, then EOF) — we
    use no LISTEN. One ``select`` with no wait, so a statement is never sent on a connection
    known dead. In a transaction it is not asked: the transaction's statements tell."""
    if conn.closed:
        return True
    if conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class PostgresqlStore(Psycopg3Database):
    """peewee's psycopg 3 database, whose ``atomic("IMMEDIATE")`` serialises like SQLite's,
    and which opens a new connection when its thread's one was lost (a server restarted, a
    fail-over, a connection ended by an administrator or a network cut). A connection found
    lost before a statement or a transaction (:func:`_lost`) is replaced first, so nothing
    fails; one lost during a transaction fails it (the caller's retry or answer, as for any
    database error) and the next connects again. peewee alone would keep the dead
    connection and fail every statement after it until the process restarts."""

    def is_closed(self) -> bool:
        if self._state.closed:
            return True
        if self.transaction_depth() == 0 and _lost(self._state.conn):
            with contextlib.suppress(Exception):
                self._state.conn.close()
            self._state.reset()  # connect anew for this statement or transaction
            return True
        return False

    def rollback(self) -> None:
        conn = self._state.conn
        if self._state.closed or conn is None or conn.closed:
            return  # the transaction went with its connection: the statement's error stands
        super().rollback()

    def begin(self, isolation_level: Any = None) -> None:
        if isolation_level in ("IMMEDIATE", "EXCLUSIVE"):
            super().begin()
            try:
                self.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            except BaseException:  # the lock timed out: the transaction is not ours to keep
                self.rollback()
                raise
            return
        if isolation_level == "DEFERRED":
            isolation_level = None
        super().begin(isolation_level)


def without_password(url: str) -> str:
    """``url`` without its password (shown to the user, written in logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def open_postgresql(url: str, busy_timeout: float) -> PostgresqlStore:
    """Connect to ``url`` (a first connection, to fail at start); ``DatabaseUnavailable``
    with one line when the server cannot be reached or refuses."""
    from store.db import DatabaseUnavailable

    database = PostgresqlStore(
        url,
        autoconnect=True,
        connect_timeout=CONNECT_TIMEOUT,
        # no server-side prepared statements: after a few runs PostgreSQL may keep a generic
        # plan, blind to the search's words (bench/search.py: the median twice as long)
        prepare_threshold=None,
        options=f"-c lock_timeout={int(busy_timeout * 1000)}",
    )
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
    except peewee.DatabaseError as exc:
        database.close()
        raise DatabaseUnavailable(
            f"cannot connect to the database {without_password(url)}: {first_line(exc)} "
            "(is PostgreSQL running there, and the user, password and database right? "
            "check --db)"
        ) from None
    return database


def first_line(exc: BaseException) -> str:
    """The gist of a psycopg error (its text runs over several lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    for prefix in (r"connection failed:", r"connection to server at .*? failed:", r"FATAL:"):
        text = re.sub(rf"^{prefix}\s*", "", text)
    return text


@contextmanager
def migrating(database: peewee.Database, wait: float) -> Iterator[None]:
    """A transaction for the migrations, racing processes waiting their turn (at most
    ``wait`` seconds, then the start fails as on SQLite)."""
    with database.atomic():
        database.execute_sql(f"SET LOCAL lock_timeout = {int(wait * 1000)}")
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        yield


_TYPES = (
    (
        re.compile(r"\bid INTEGER PRIMARY KEY\b"),
        "id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bDATETIME\b"), "TIMESTAMP"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\b(\w+) COLLATE NOCASE\b"), r"lower(\1)"),
)


def ddl(statement: str) -> str:
    """A migration's SQLite statement as PostgreSQL takes it (types, case-blind indexes)."""
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return statement
