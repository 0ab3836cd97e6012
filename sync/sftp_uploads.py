"""Uploads into the IN folders, and what the server remembers of them for the clients that
look at a file while they write it or just after.

An upload is written under a hidden name (``sync.homes.part_name``) and gets its name only when
closed complete: never over another file, never appended to. Then the ``uploaded`` hook runs,
unless the name is a temporary one (``store.batchnames.is_temporary_name``): that file counts once
renamed to its final name. The bytes written are counted in the user's IN quota as they come
(``sync.quota``); an upload past it fails and is never committed.

Common clients' defaults, each accepted:

- set the file's times (and mode) after writing it, on the open handle (OpenSSH ``put -p``,
  ``scp``, PuTTY) or by path after closing it (rclone, lftp, paramiko ``utime``, asyncssh):
  the times are applied, the mode ignored;
- look at the file while writing it (sshfs LSTATs a file it has just opened) or right after
  closing it (paramiko's ``put`` STATs it): answered from the open upload, or from what was
  committed a moment ago when the intake has already taken the set out of the home
  (``RecentUploads``);
- an upload closed with nothing written and left so (sshfs's create that failed and was
  closed) commits nothing, unless it is a GO or TD file, empty by design.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from paramiko import SFTPAttributes, SFTPHandle
from paramiko.sftp import (
    SFTP_FAILURE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
)

from store.batchnames import CANCEL, GO, is_temporary_name
from sync.limits import ServerLimits
from sync.quota import InQuota

log = logging.getLogger("expedito.sftp")

QUOTA_EXCEEDED = "IN quota exceeded"  # what the client is told


class Session(Protocol):
    """What the file system, the uploads and scp need of a logged-in technical user's
    connection. ``sync.sftp_server.SessionServer`` implements it; they see only this, so none
    of them imports the server back."""

    home: Path | None
    limits: ServerLimits

    @property
    def user(self) -> str: ...

    @property
    def recent(self) -> RecentUploads: ...

    @property
    def quota(self) -> InQuota: ...

    def touch(self) -> None: ...

    def live(self) -> bool: ...

    def track(self, handle: SFTPHandle) -> None: ...

    def uploaded(self, path: Path) -> None: ...


def errno_status(exc: OSError) -> int:
    from paramiko import SFTPServer

    return int(SFTPServer.convert_errno(exc.errno or 0))


def set_attributes(target: int | str, attr: SFTPAttributes, size: int) -> int:
    """SETSTAT/FSETSTAT on one's own upload: apply the times, ignore mode and owner; a size
    other than the file's (a truncation) is not supported."""
    if attr.st_size is not None and attr.st_size != size:
        return SFTP_OP_UNSUPPORTED
    if attr.st_atime is not None and attr.st_mtime is not None:
        try:
            if isinstance(target, int):
                os.utime(target, (attr.st_atime, attr.st_mtime))
            else:
                os.utime(target, (attr.st_atime, attr.st_mtime), follow_symlinks=False)
        except OSError as exc:
            return errno_status(exc)
        except (OverflowError, ValueError):  # beyond what the system's time_t holds
            return SFTP_FAILURE
    return SFTP_OK


class RecentUploads:
    """The uploads open now and those committed in the last ``keep`` seconds, by their final
    path on disk (which names the home, so the user), across the server's sessions (rclone
    sets times and stats over another connection than the one that uploaded)."""

    def __init__(
        self, keep: float = 300.0, limit: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.keep = keep
        self.limit = limit
        self.clock = clock
        self._open: dict[str, UploadHandle] = {}
        self._done: OrderedDict[str, tuple[float, SFTPAttributes]] = OrderedDict()
        self._lock = threading.Lock()

    def opened(self, handle: UploadHandle) -> None:
        with self._lock:
            self._open[handle.final] = handle

    def closed(self, handle: UploadHandle, committed: SFTPAttributes | None) -> None:
        with self._lock:
            if self._open.get(handle.final) is handle:
                del self._open[handle.final]
        if committed is not None:
            self.committed(handle.final, committed)

    def committed(self, path: str, attrs: SFTPAttributes) -> None:
        now = self.clock()
        with self._lock:
            self._done.pop(path, None)
            self._done[path] = (now, attrs)
            while self._done:
                oldest, (when, _) = next(iter(self._done.items()))
                if now - when < self.keep and len(self._done) <= self.limit:
                    break
                del self._done[oldest]

    def open_upload(self, path: str) -> UploadHandle | None:
        with self._lock:
            return self._open.get(path)

    def attributes(self, path: str) -> SFTPAttributes | None:
        """What to answer a STAT of ``path`` that is not on disk (None: nothing known)."""
        handle = self.open_upload(path)
        if handle is not None:
            found = handle.stat()
            return found if isinstance(found, SFTPAttributes) else None
        with self._lock:
            entry = self._done.get(path)
        if entry is None or self.clock() - entry[0] >= self.keep:
            return None
        return entry[1]

    def set_attributes(self, path: str, attr: SFTPAttributes) -> int | None:
        """SETSTAT of ``path`` not on disk: on the open upload, or on the record of one
        committed a moment ago; None when nothing is known of it."""
        handle = self.open_upload(path)
        if handle is not None:
            return handle.chattr(attr)
        known = self.attributes(path)
        if known is None:
            return None
        if attr.st_size is not None and attr.st_size != known.st_size:
            return SFTP_OP_UNSUPPORTED
        if attr.st_atime is not None and attr.st_mtime is not None:
            known.st_atime, known.st_mtime = attr.st_atime, attr.st_mtime
        return SFTP_OK


class UploadHandle(SFTPHandle):
    """A new file in an IN folder, written under a hidden name until closed complete."""

    def __init__(
        self, fd: int, temporary: str, final: str, session: Session, recent: RecentUploads
    ) -> None:
        super().__init__()
        self.fd = fd
        self.temporary = temporary
        self.final = final
        self.session = session
        self.recent = recent
        self.max_size = session.limits.max_file_size
        self.failed = False
        self.over_quota = False
        self.counted = 0  # the bytes up to here are counted in the user's IN quota
        self.covered: list[list[int]] = []  # merged [start, end) ranges written
        recent.opened(self)

    def read(self, offset: int, length: int) -> bytes | int:
        return SFTP_PERMISSION_DENIED

    def fits(self, size: int) -> bool:
        """Would ``size`` bytes fit in the user's IN quota now (nothing counted)? False: the
        upload failed (never committed)."""
        if self.session.quota.fits(self.session.user, size - self.counted):
            return True
        self.failed = self.over_quota = True
        self._log_over_quota()
        return False

    def reserve(self, end: int) -> bool:
        """Count the bytes up to ``end`` in the user's IN quota (``sync.quota``): what a
        write past the furthest byte so far adds. False, and the upload failed (never
        committed), past the quota."""
        grown = end - self.counted
        if grown <= 0:
            return True
        quota = self.session.quota
        if not quota.take(self.session.user, grown):
            self.failed = self.over_quota = True
            self._log_over_quota()
            return False
        self.counted = end
        return True

    def _log_over_quota(self) -> None:
        log.info(
            "%s: %s (%d bytes waiting): %s refused",
            self.session.user,
            QUOTA_EXCEEDED,
            self.session.quota.used(self.session.user),
            os.path.basename(self.final),
        )

    def write(self, offset: int, data: Any) -> int:
        end = offset + len(data)
        if self.failed or offset < 0 or end > self.max_size or not self.reserve(end):
            self.failed = True
            return SFTP_FAILURE
        view = memoryview(data)
        try:
            while view:
                written = os.pwrite(self.fd, view, offset)
                view, offset = view[written:], offset + written
        except OSError as exc:
            self.failed = True
            return errno_status(exc)
        self._cover(end - len(data), end)
        return SFTP_OK

    def _cover(self, start: int, end: int) -> None:
        covered = self.covered
        if covered and covered[-1][0] <= start <= covered[-1][1]:
            covered[-1][1] = max(covered[-1][1], end)  # the usual case: in order
            return
        covered.append([start, end])
        covered.sort()
        merged = [covered[0]]
        for piece in covered[1:]:
            if piece[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], piece[1])
            else:
                merged.append(piece)
        self.covered = merged

    def complete(self) -> bool:
        """No write failed and the bytes written leave no hole."""
        return not self.failed and (
            not self.covered or (len(self.covered) == 1 and self.covered[0][0] == 0)
        )

    def left_empty(self) -> bool:
        """Closed with nothing written under a final name that is not a GO or TD: abandoned
        (a GO or TD file is empty by design; a temporary name waits for its rename)."""
        name = os.path.basename(self.final)
        return (
            not self.covered
            and not is_temporary_name(name)
            and name.split(".", 1)[0] not in (GO, CANCEL)
        )

    def stat(self) -> SFTPAttributes | int:
        if self.fd < 0:
            return SFTP_FAILURE
        try:
            return SFTPAttributes.from_stat(os.fstat(self.fd))
        except OSError as exc:
            return errno_status(exc)

    def chattr(self, attr: SFTPAttributes) -> int:
        if self.fd < 0:
            return SFTP_FAILURE
        return set_attributes(self.fd, attr, os.fstat(self.fd).st_size)

    def close(self) -> None:
        self.finish()

    def finish(self, aborted: bool = False) -> int:
        """Close; give the file its name if complete (and the account still live)."""
        if self.fd < 0:
            return SFTP_OK
        attrs = self.stat()
        os.close(self.fd)
        self.fd = -1
        status, committed = SFTP_FAILURE, False
        try:
            if aborted or not self.complete():
                pass
            elif self.left_empty():
                log.info(
                    "%s: %s closed with nothing written: not kept",
                    self.session.user,
                    os.path.basename(self.final),
                )
                status = SFTP_OK
            elif self.session.live():
                os.link(self.temporary, self.final)  # fails rather than overwrite
                status, committed = SFTP_OK, True
        except FileExistsError:
            status = SFTP_PERMISSION_DENIED
        except OSError as exc:
            log.warning("upload %s: %s", self.final, exc)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(self.temporary)
        self.recent.closed(self, attrs if committed and isinstance(attrs, SFTPAttributes) else None)
        if committed and not is_temporary_name(os.path.basename(self.final)):
            self.session.uploaded(Path(self.final))
        return status
