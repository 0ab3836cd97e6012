"""A server's live sessions, published in the database for the operators (``store.sessions``).

One thread per SFTP server. Every ``POLL_SECONDS`` it looks at the server's logged-in
sessions; at most once every ``PUBLISH_SECONDS`` it writes what changed since the last
write (new sessions, bytes, the current file, sessions ended) in one transaction, and every
``HEARTBEAT_SECONDS`` it marks its rows as still seen (else the page takes them for a dead
server's). Nothing is written for sessions that did nothing. Then it asks which of its
sessions an operator ended from the *Sessions SFTP* page, and closes their connections.

The thread starts by deleting the rows of dead servers (``store.sessions.clean_dead``) and
ends by deleting its own. A database that cannot be written for a while (locked, full) costs
one log line; the sessions go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from store import sessions
from store.accounts import Account
from store.claims import new_owner
from store.db import db
from store.sessions import HEARTBEAT_SECONDS, PublishedSession

log = logging.getLogger("expedito.sftp")

POLL_SECONDS = 0.5
IDLE_SECONDS = 5.0
PUBLISH_SECONDS = 1.0


class Session(Protocol):
    """What the board reads of a session (``sync.sftp_server.SessionServer``)."""

    session_id: str
    account: Account | None
    address: str
    started_at: float
    bytes_in: int
    bytes_out: int
    current_file: str

    def close(self) -> None: ...


def snapshot(session: Session) -> PublishedSession | None:
    account = session.account
    if account is None:
        return None
    return PublishedSession(
        session.session_id,
        account.technical_user,
        account.sender_number,
        session.address,
        session.started_at,
        session.bytes_in,
        session.bytes_out,
        session.current_file,
    )


class SessionBoard:
    """Publishes ``live()`` (the server's logged-in sessions) and ends those asked to end."""

    def __init__(self, live: Callable[[], Sequence[Session]]) -> None:
        self.server = new_owner()  # host:pid:random, as the rows name it
        self._live = live
        self._published: dict[str, PublishedSession] = {}
        self._last_write = 0.0
        self._last_heartbeat = 0.0
        self._failing = False
        self._ending: set[str] = set()

    def run(self, stopping: threading.Event, busy: threading.Event | None = None) -> None:
        """The thread's body: until ``stopping`` is set. ``busy``: set while the server has
        connections; with none and nothing on the board, the thread sleeps until it is set
        (``IDLE_SECONDS`` at most) instead of looking twice a second."""
        try:
            with db.connection_context():
                self._guarded(sessions.clean_dead)
                while True:
                    if busy is not None and not self._published:
                        busy.wait(IDLE_SECONDS)
                    if stopping.wait(POLL_SECONDS):
                        break
                    self._guarded(self.tick)
                self._guarded(lambda: sessions.withdraw(self.server))
        except Exception as exc:  # no database at all: the server serves on, unpublished
            log.warning("sessions not published: %s", exc)

    def _guarded(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception as exc:
            if not self._failing:
                log.warning("sessions could not be published: %s", exc)
            self._failing = True
        else:
            self._failing = False

    def tick(self, now: float | None = None) -> None:
        """Publish what changed (at most once a ``PUBLISH_SECONDS``), then end the sessions
        an operator asked to end."""
        now = time.monotonic() if now is None else now
        live = {s.session_id: s for s in self._live() if s.account is not None}
        if now - self._last_write >= PUBLISH_SECONDS:
            self._publish(live, now)
        if self._published:
            for session_id in sessions.end_requests(self.server):
                session = live.get(session_id)
                if session is not None and session_id not in self._ending:
                    self._ending.add(session_id)
                    log.info(
                        "%s from %s: session ended by an operator",
                        session.account.technical_user if session.account else "?",
                        session.address,
                    )
                    session.close()
        self._ending &= live.keys()

    def _publish(self, live: dict[str, Session], now: float) -> None:
        current = {i: p for i, s in live.items() if (p := snapshot(s)) is not None}
        changed = [p for i, p in current.items() if self._published.get(i) != p]
        ended = [i for i in self._published if i not in current]
        heartbeat = bool(current) and now - self._last_heartbeat >= HEARTBEAT_SECONDS
        if not (changed or ended or heartbeat):
            return
        sessions.publish(self.server, changed, ended, heartbeat)
        self._published = current
        self._last_write = now
        if heartbeat:
            self._last_heartbeat = now
