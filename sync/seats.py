"""A technical user's sessions counted across processes: a seat each, held as a lock.

``serve --workers N`` runs N processes, and several nodes may share the homes: each process
counts its own connections, so ``--max-sessions`` alone would let a user logging in from
several addresses hold N times the figure. A seat makes the limit whole: the homes hold
``.sessions/<user>``, a file of ``limit`` bytes, and an authenticated connection holds an
open file description with a write lock on one of its bytes (Linux's open-file-description
locks, ``F_OFD_SETLK``: owned by the descriptor, not the process, so two connections of one
process hold two seats). The kernel gives a seat back when its descriptor is closed — at the
connection's end, or when its process dies, ``kill -9`` included: nothing to clean up, no
seat left stranded. On a shared filesystem the locks are the filesystem's (NFS: the lock
manager), so the limit holds across nodes where it has them.

Where such locks cannot be taken (another system, a filesystem without locks) the seats are
not counted, once logged: each process's own count still bounds the user.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SEATS_FOLDER = ".sessions"  # in the homes: no technical user name starts with a dot
_BUSY = (errno.EAGAIN, errno.EACCES)
# struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for an OFD lock)
_FLOCK = "hh4xqqi4x"


class Seat:
    """One seat held: ``release`` (or the descriptor's end) gives it back."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


class Seats:
    """The seats of every technical user, in ``<homes_root>/.sessions``."""

    def __init__(self, homes_root: Path, limit: int) -> None:
        self.folder = homes_root / SEATS_FOLDER
        self.limit = limit
        self._unsupported = not hasattr(fcntl, "F_OFD_SETLK")
        self._warned = False

    def take(self, user: str) -> Seat | None:
        """A free seat of ``user``'s, or None when all ``limit`` are held (by any process
        on these homes). ``user`` is a technical user name (letters and digits)."""
        if self._unsupported:
            return Seat(None)
        try:
            fd = self._open(user)
        except OSError as exc:
            return self._not_counted(exc)
        try:
            for index in range(self.limit):
                lock = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, index, 1, 0)
                try:
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lock)
                except OSError as exc:
                    if exc.errno in _BUSY:
                        continue
                    raise
                seat, fd = Seat(fd), -1
                return seat
            return None
        except OSError as exc:
            return self._not_counted(exc)
        finally:
            if fd >= 0:
                os.close(fd)

    def _open(self, user: str) -> int:
        if not user.isalnum() or not user.isascii():
            raise ValueError(f"not a technical user name: {user!r}")
        path = self.folder / user
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            return os.open(path, flags, 0o600)
        except FileNotFoundError:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(path, flags, 0o600)

    def _not_counted(self, exc: OSError) -> Seat:
        """Seats cannot be taken here: each process's own count is the limit (logged once)."""
        if not self._warned:
            self._warned = True
            log.warning(
                "sessions per user are counted per process only: no lock in %s (%s)",
                self.folder,
                exc.strerror or exc,
            )
        return Seat(None)
