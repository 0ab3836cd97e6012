"""What may wait in one user's IN folders: a quota on the bytes of their uploads.

At each upload's open (an SFTP OPEN, a legacy scp ``C`` line) the IN folders are measured on
disk (finished files and uploads in progress alike) and the count of bytes written since is
reset (unless they were measured less than a second before: then the count goes on, and is
measured again before a write is refused on it); a write that grows an upload past its
furthest byte takes the growth from the quota, or is refused
(``sync.sftp_uploads.UploadHandle.reserve``, for SFTP and scp alike). Several sessions of a
user share one count, so together they cannot pass it either. Sets the intake has taken out
are freed at the next measure.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from store.batchnames import IN_FOLDERS


def waiting_bytes(home: str | os.PathLike[str]) -> int:
    """The size of every file in the home's IN folders (hidden uploads in progress too)."""
    total = 0
    for folder in IN_FOLDERS:
        try:
            with os.scandir(Path(home) / folder) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total


class InQuota:
    """Per user: bytes on disk at the last measure, plus bytes written since."""

    def __init__(
        self, limit: int, fresh: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.fresh = fresh
        self.clock = clock
        self._at: dict[str, float] = {}  # when each user's folders were last measured
        self._homes: dict[str, str | os.PathLike[str]] = {}
        self._measured: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._lock = threading.Lock()

    def measure(self, user: str, home: str | os.PathLike[str]) -> int:
        """Measure ``user``'s IN folders again (at an upload's OPEN); returns the bytes.
        Measured less than ``fresh`` seconds ago, the count is kept instead (a scan of every
        file waiting at each OPEN was a large part of the server's time for a user with
        many files waiting): what was written since is in it, and a write that would pass
        the quota on a kept count measures again before it is refused, so what the intake
        took out in between is freed then."""
        now = self.clock()
        with self._lock:
            self._homes[user] = home
            if now - self._at.get(user, -self.fresh) < self.fresh:
                return self._measured.get(user, 0) + self._written.get(user, 0)
        return self._scan(user, home)

    def _scan(self, user: str, home: str | os.PathLike[str]) -> int:
        used = waiting_bytes(home)
        with self._lock:
            self._measured[user] = used
            self._written[user] = 0
            self._at[user] = self.clock()
        return used

    def take(self, user: str, grown: int) -> bool:
        """Count ``grown`` more bytes for ``user``; False (nothing counted) past the quota."""
        for attempt in range(2):
            with self._lock:
                used = self._measured.get(user, 0) + self._written.get(user, 0)
                if used + grown <= self.limit:
                    self._written[user] = self._written.get(user, 0) + grown
                    return True
            if attempt or not self._measure_again(user):
                return False
        return False

    def fits(self, user: str, more: int) -> bool:
        """Would ``more`` bytes fit now (nothing counted)?"""
        for attempt in range(2):
            with self._lock:
                used = self._measured.get(user, 0) + self._written.get(user, 0)
            if used + more <= self.limit:
                return True
            if attempt or not self._measure_again(user):
                return False
        return False

    def _measure_again(self, user: str) -> bool:
        """Measure on disk again (True if it could), before refusing on a kept count."""
        with self._lock:
            home = self._homes.get(user)
        if home is None:
            return False
        self._scan(user, home)
        return True

    def used(self, user: str) -> int:
        with self._lock:
            return self._measured.get(user, 0) + self._written.get(user, 0)
