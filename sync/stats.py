"""What the SFTP server counts for its operators: logins refused by reason, bytes moved.

Plain counters (no Prometheus here): ``sync.metrics`` reads them when scraped, the
*Exploitation* pages through the sessions the servers publish. Bytes are counted per
connection by its own thread (``SessionServer.bytes_in``/``bytes_out``); a connection's
totals move here when it ends, so ``bytes()`` is the ended ones plus the live ones.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

# Why a login or a connection was refused (the ``reason`` label of the metric).
REFUSED_KEY = "key"  # unknown user or a key not registered: one answer for both
REFUSED_SIGNATURE = "signature"  # the key's signature did not verify
REFUSED_PASSWORD = "password"  # a password was tried: public keys only
REFUSED_BANNED = "banned"  # the address is banned after repeated failures
REFUSED_STARTUPS = "startups"  # too many unauthenticated connections (MaxStartups)
REFUSED_SESSIONS = "sessions"  # the user's session limit
REFUSED_HOME = "home"  # the user's home could not be made (a full or read-only disk)


class Counted(Protocol):
    bytes_in: int
    bytes_out: int


class ServerStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: Counter[str] = Counter()
        self._ended_in = 0
        self._ended_out = 0

    def refused(self, reason: str) -> None:
        with self._lock:
            self._refused[reason] += 1

    def refusals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._refused)

    def ended(self, connection: Counted) -> None:
        """A connection ended: keep its bytes (once)."""
        with self._lock:
            self._ended_in += connection.bytes_in
            self._ended_out += connection.bytes_out
            connection.bytes_in = connection.bytes_out = 0

    def bytes(self, live: Iterable[Counted]) -> tuple[int, int]:
        """Bytes received and sent, ended connections and ``live`` ones together."""
        with self._lock:
            received, sent = self._ended_in, self._ended_out
            for connection in live:
                received += connection.bytes_in
                sent += connection.bytes_out
        return received, sent
