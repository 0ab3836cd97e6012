"""What may wait in one user's IN folders: a quota on the bytes of their uploads.

At each upload's open (an SFTP OPEN, a legacy scp ``C`` line) the IN folders are measured on
disk (finished files and uploads in progress alike) and the count of bytes written since is
reset; a write that grows an upload past its furthest byte takes the growth from the quota,
or is refused (``sync.sftp_uploads.UploadHandle.reserve``, for SFTP and scp alike). Several
sessions of a user share one count, so together they cannot pass it either. Sets the intake
has taken out are freed at the next open's measure.
"""

from __future__ import annotations

import os
import threading
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

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._measured: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._lock = threading.Lock()

    def measure(self, user: str, home: str | os.PathLike[str]) -> int:
        """Measure ``user``'s IN folders again (at an upload's OPEN); returns the bytes."""
        used = waiting_bytes(home)
        with self._lock:
            self._measured[user] = used
            self._written[user] = 0
        return used

    def take(self, user: str, grown: int) -> bool:
        """Count ``grown`` more bytes for ``user``; False (nothing counted) past the quota."""
        with self._lock:
            used = self._measured.get(user, 0) + self._written.get(user, 0)
            if used + grown > self.limit:
                return False
            self._written[user] = self._written.get(user, 0) + grown
            return True

    def fits(self, user: str, more: int) -> bool:
        """Would ``more`` bytes fit now (nothing counted)?"""
        with self._lock:
            used = self._measured.get(user, 0) + self._written.get(user, 0)
            return used + more <= self.limit

    def used(self, user: str) -> int:
        with self._lock:
            return self._measured.get(user, 0) + self._written.get(user, 0)
