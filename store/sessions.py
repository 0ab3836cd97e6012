"""Live SFTP sessions as the servers publish them, for the operators' *Sessions SFTP* page.

The page runs in another process than the servers (``expedito serve``), maybe on another
node: each server writes its logged-in sessions in ``sftp_session``, one row a session
(``sync.session_board``), and the page reads them. A server

- writes what changed (:func:`publish`) — new sessions, bytes, the current file, sessions ended —
  at most once a second, and refreshes ``seen_at`` on all its rows every
  ``HEARTBEAT_SECONDS``;
- asks :func:`end_requests` (≤ 1 s) which of its sessions an operator ended
  (:func:`request_end`), and closes them;
- removes its rows when it stops (:func:`withdraw`); at its start, :func:`clean_dead`
  deletes the rows of this machine's servers whose process is gone, and those stale for
  long anywhere.

A row not refreshed for ``STALE_SECONDS`` belongs to a server that died without cleaning up
(another node, a ``kill -9``): :func:`live_sessions` leaves it out. Times are wall-clock
seconds since the epoch (``time.time()``): they must mean the same in every process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.audit import record
from store.claims import owner_gone
from store.db import db, execute

HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 30.0
FORGET_SECONDS = 24 * 3600.0  # a stale row older than this is deleted by any server's start

_COLUMNS = (
    "id, technical_user, sender_number, address, started_at, bytes_in, bytes_out, "
    "current_file, server, node, pid, end_requested_at, end_requested_by"
)


@dataclass(frozen=True)
class PublishedSession:
    """What a server publishes of one logged-in session."""

    id: str
    technical_user: str
    sender_number: int
    address: str
    started_at: float  # time.time() at connection
    bytes_in: int
    bytes_out: int
    current_file: str


@dataclass(frozen=True)
class LiveSession:
    """A session as the operators see it."""

    id: str
    technical_user: str
    sender_number: int
    address: str
    since: datetime  # aware, UTC
    bytes_in: int
    bytes_out: int
    current_file: str
    server: str  # host:pid:random of the serving process
    node: str
    pid: int
    end_requested_at: datetime | None  # aware, UTC
    end_requested_by: str | None


def _node_and_pid(server: str) -> tuple[str, int]:
    node, _, rest = server.partition(":")
    pid = rest.partition(":")[0]
    return node, int(pid) if pid.isdigit() else 0


def publish(
    server: str,
    changed: Sequence[PublishedSession],
    ended: Iterable[str] = (),
    heartbeat: bool = False,
    now: float | None = None,
) -> None:
    """One transaction: insert or update ``changed`` sessions of ``server``, delete the
    ``ended`` ones, and (``heartbeat``) mark all its rows seen now."""
    now = time.time() if now is None else now
    node, pid = _node_and_pid(server)
    with db.atomic():
        for session in changed:
            execute(
                "INSERT INTO sftp_session (id, server, node, pid, technical_user, sender_number, "
                "address, started_at, bytes_in, bytes_out, current_file, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, "
                "current_file = excluded.current_file, seen_at = excluded.seen_at",
                (
                    session.id,
                    server,
                    node,
                    pid,
                    session.technical_user,
                    session.sender_number,
                    session.address,
                    session.started_at,
                    session.bytes_in,
                    session.bytes_out,
                    session.current_file,
                    now,
                ),
            )
        for session_id in ended:
            execute("DELETE FROM sftp_session WHERE id = ? AND server = ?", (session_id, server))
        if heartbeat:
            execute("UPDATE sftp_session SET seen_at = ? WHERE server = ?", (now, server))


def end_requests(server: str) -> list[str]:
    """The sessions of ``server`` an operator asked to end."""
    cursor = execute(
        "SELECT id FROM sftp_session WHERE server = ? AND end_requested_at IS NOT NULL", (server,)
    )
    return [row[0] for row in cursor.fetchall()]


def withdraw(server: str) -> None:
    """``server`` stops: its rows go."""
    with db.atomic():
        execute("DELETE FROM sftp_session WHERE server = ?", (server,))


def clean_dead(now: float | None = None) -> int:
    """At a server's start: delete the rows of this machine's servers whose process has
    ended, and the rows stale for ``FORGET_SECONDS``; returns how many went."""
    now = time.time() if now is None else now
    # IMMEDIATE: a read then writes; deferred, it fails at once (not after the busy timeout)
    # when another server wrote in between (the workers of serve --workers start together)
    with db.atomic("IMMEDIATE"):
        servers = [row[0] for row in execute("SELECT DISTINCT server FROM sftp_session").fetchall()]
        gone = [server for server in servers if owner_gone(server)]
        deleted = 0
        for server in gone:
            deleted += execute("DELETE FROM sftp_session WHERE server = ?", (server,)).rowcount
        deleted += execute(
            "DELETE FROM sftp_session WHERE seen_at < ?", (now - FORGET_SECONDS,)
        ).rowcount
    return deleted


def _utc(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _live(row: Any) -> LiveSession:
    ident, user, number, address, started, bytes_in, bytes_out, current, server, node, pid = row[
        :11
    ]
    return LiveSession(
        ident,
        user,
        int(number),
        address,
        datetime.fromtimestamp(started, UTC),
        int(bytes_in),
        int(bytes_out),
        current,
        server,
        node,
        int(pid),
        _utc(row[11]),
        row[12],
    )


def live_sessions(now: float | None = None) -> list[LiveSession]:
    """The sessions open on every server, oldest first; rows not refreshed for
    ``STALE_SECONDS`` (their server is gone) are left out."""
    now = time.time() if now is None else now
    cursor = execute(
        f"SELECT {_COLUMNS} FROM sftp_session WHERE seen_at >= ? ORDER BY started_at, id",
        (now - STALE_SECONDS,),
    )
    return [_live(row) for row in cursor.fetchall()]


def request_end(
    session_id: str, person_id: int, login: str, now: float | None = None
) -> LiveSession | None:
    """An operator (``person_id``, ``login``) ends a session: the request is written for its
    server (which closes it within a second or so) and audited, in one transaction. None
    when the session is no longer there."""
    now = time.time() if now is None else now
    with db.atomic("IMMEDIATE"):
        row = execute(
            f"SELECT {_COLUMNS} FROM sftp_session WHERE id = ? AND seen_at >= ?",
            (session_id, now - STALE_SECONDS),
        ).fetchone()
        if row is None:
            return None
        execute(
            "UPDATE sftp_session SET end_requested_at = ?, end_requested_by = ? WHERE id = ?",
            (now, login, session_id),
        )
        session = _live(row)
        record(
            "exploitation.session_end",
            person_id,
            None,
            session=session.id,
            user=session.technical_user,
            sender=f"{session.sender_number:06d}",
            address=session.address,
            node=session.node,
        )
    return session
