"""What an SFTP user may see and do: their home, confined, with the portal's folder rules.

The client sees its home as ``/`` holding the six folders. Every path is normalised by hand
(``..`` cannot climb above ``/``, ``//`` and ``.`` vanish), may name the home, one of the six
folders, or a plain file in one of them, and is checked on disk: a folder must really be that
folder of this home (``realpath``, no symlinked folders), and a file is opened with
``O_NOFOLLOW`` and checked with ``commonpath`` so a symlink planted on disk leads nowhere.

Rules: write (new files only, never over another) in IN, INTEST, INTEST-S; read and delete in
OUT, OUTTEST, OUTTEST-S; list everything; rename within one IN folder (temporary name → final
name), delete one's temporary uploads, set the times of one's uploads; no folders, links or
other attribute changes. Uploads, and what clients may do with them while and just after they
are written: :mod:`sync.sftp_uploads`.
"""

from __future__ import annotations

import logging
import os
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from paramiko import ServerInterface, SFTPAttributes, SFTPHandle, SFTPServerInterface
from paramiko.sftp import (
    SFTP_FAILURE,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
)

from store.accounts import Account
from store.batchnames import HOME_FOLDERS, IN_FOLDERS, OUT_FOLDERS, is_temporary_name
from sync.homes import FILE_MODE, is_part_name, part_name
from sync.limits import MAX_READ
from sync.sftp_uploads import (
    RecentUploads,
    Session,
    UploadHandle,
    errno_status,
    set_attributes,
)

__all__ = ["ConfinedSFTP", "ReadHandle", "UploadHandle", "UploadHook", "no_upload_hook"]


log = logging.getLogger("expedito.sftp")

UploadHook = Callable[[Account, Path], None]
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def no_upload_hook(account: Account, path: Path) -> None:
    """The default ``on_upload``: nothing."""


def has_control(name: str) -> bool:
    """Control characters (C0, DEL, C1) or line separators: refused in names."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name)


def normalise(path: str) -> list[str]:
    """The virtual path's parts, ``..`` clamped at the root; ValueError for a NUL byte."""
    if "\0" in path:
        raise ValueError("NUL in path")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return parts


@dataclass(frozen=True)
class Place:
    folder: str | None  # None: the home itself
    name: str | None  # None: the folder itself
    path: str  # on disk


class Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _attributes(path: str, name: str | None = None) -> SFTPAttributes:
    attrs = SFTPAttributes.from_stat(os.lstat(path))
    if name is not None:
        attrs.filename = name
    return attrs


class ReadHandle(SFTPHandle):
    """A file in an OUT folder, read with ``pread`` (READs clamped as OpenSSH does)."""

    def __init__(self, fd: int, session: Session) -> None:
        super().__init__()
        self.fd = fd
        self.session = session

    def read(self, offset: int, length: int) -> bytes | int:
        try:
            return os.pread(self.fd, min(length, MAX_READ), offset)
        except OSError as exc:
            return errno_status(exc)

    def write(self, offset: int, data: Any) -> int:
        return SFTP_PERMISSION_DENIED

    def stat(self) -> SFTPAttributes | int:
        return SFTPAttributes.from_stat(os.fstat(self.fd))

    def chattr(self, attr: SFTPAttributes) -> int:
        return SFTP_PERMISSION_DENIED

    def close(self) -> None:
        self.finish()

    def finish(self, aborted: bool = False) -> int:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        return SFTP_OK


class ConfinedSFTP(SFTPServerInterface):
    """paramiko's SFTP request interface for one session, confined to the user's home."""

    def __init__(self, server: Session, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            cast(ServerInterface, server)
        )  # paramiko's SessionServer, seen as a Session
        self.session = server
        home = server.home
        assert home is not None
        self.home = os.path.realpath(home)
        self.recent: RecentUploads = server.recent

    # Where a path leads -------------------------------------------------------------------

    def locate(self, path: str | bytes) -> Place:
        if isinstance(path, bytes):
            try:
                path = path.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise Refused(SFTP_NO_SUCH_FILE) from exc
        try:
            parts = normalise(path)
        except ValueError as exc:
            raise Refused(SFTP_NO_SUCH_FILE) from exc
        if not parts:
            return Place(None, None, self.home)
        folder = parts[0]
        if folder not in HOME_FOLDERS or len(parts) > 2:
            raise Refused(SFTP_NO_SUCH_FILE)
        expected = os.path.join(self.home, folder)
        if os.path.realpath(expected) != expected:
            log.warning(
                "%s: folder %s is not a plain folder of the home; refused",
                self.session.user,
                folder,
            )
            raise Refused(SFTP_PERMISSION_DENIED)
        if len(parts) == 1:
            return Place(folder, None, expected)
        name = parts[1]
        if is_part_name(name):
            raise Refused(SFTP_NO_SUCH_FILE)
        if has_control(name):
            raise Refused(SFTP_PERMISSION_DENIED)
        target = os.path.join(expected, name)
        if os.path.commonpath([self.home, os.path.realpath(target)]) != self.home:
            log.warning("%s: %s leads out of the home; refused", self.session.user, path)
            raise Refused(SFTP_PERMISSION_DENIED)
        return Place(folder, name, target)

    def _file(self, path: str, folders: tuple[str, ...]) -> Place:
        place = self.locate(path)
        if place.name is None:
            raise Refused(SFTP_PERMISSION_DENIED if place.folder else SFTP_FAILURE)
        if place.folder not in folders:
            raise Refused(SFTP_PERMISSION_DENIED)
        return place

    # Requests -----------------------------------------------------------------------------

    def canonicalize(self, path: str) -> str:
        try:
            return "/" + "/".join(normalise(path))
        except ValueError:
            return "/"

    def list_folder(self, path: str) -> list[SFTPAttributes] | int:
        try:
            place = self.locate(path)
            if place.name is not None:
                return SFTP_NO_SUCH_FILE if not os.path.lexists(place.path) else SFTP_FAILURE
            if place.folder is None:
                return [
                    _attributes(os.path.join(self.home, f), f)
                    for f in HOME_FOLDERS
                    if os.path.isdir(os.path.join(self.home, f))
                ]
            entries = []
            with os.scandir(place.path) as scan:
                for entry in scan:
                    if is_part_name(entry.name):
                        continue
                    attrs = SFTPAttributes.from_stat(entry.stat(follow_symlinks=False))
                    attrs.filename = entry.name
                    entries.append(attrs)
            return entries
        except Refused as exc:
            return exc.code
        except OSError as exc:
            return errno_status(exc)

    def stat(self, path: str) -> SFTPAttributes | int:
        try:
            place = self.locate(path)
            try:
                return _attributes(place.path)
            except FileNotFoundError:
                # being uploaded, or uploaded a moment ago and already taken by the intake
                known = self.recent.attributes(place.path) if place.name else None
                return known if known is not None else SFTP_NO_SUCH_FILE
        except Refused as exc:
            return exc.code
        except OSError as exc:
            return errno_status(exc)

    lstat = stat

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> SFTPHandle | int:
        try:
            if flags & os.O_RDWR and not flags & os.O_CREAT:
                return SFTP_PERMISSION_DENIED
            if flags & (os.O_WRONLY | os.O_RDWR):
                return self._open_upload(self._file(path, IN_FOLDERS), flags)
            return self._open_read(self._file(path, OUT_FOLDERS))
        except Refused as exc:
            return exc.code
        except OSError as exc:
            return errno_status(exc)

    def _open_upload(self, place: Place, flags: int) -> SFTPHandle | int:
        if flags & os.O_APPEND or os.path.lexists(place.path):
            return SFTP_PERMISSION_DENIED  # never overwrite, never append
        assert place.name is not None
        self.session.quota.measure(self.session.user, self.home)  # see sync.quota
        directory = os.path.dirname(place.path)
        temporary = os.path.join(directory, part_name(place.name))
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE
        )
        handle = UploadHandle(fd, temporary, place.path, self.session, self.recent)
        self.session.track(handle)
        return handle

    def _open_read(self, place: Place) -> SFTPHandle | int:
        fd = os.open(place.path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_nlink > 1:
            # a second hard link: a file of elsewhere (planted) may be what it shows
            os.close(fd)
            return SFTP_PERMISSION_DENIED
        handle = ReadHandle(fd, self.session)
        self.session.track(handle)
        return handle

    def remove(self, path: str) -> int:
        """In the OUT folders; in the IN folders, one's temporary uploads only."""
        try:
            place = self._file(path, HOME_FOLDERS)
            if place.folder in IN_FOLDERS and not is_temporary_name(place.name or ""):
                return SFTP_PERMISSION_DENIED
            if not stat.S_ISREG(os.lstat(place.path).st_mode):
                return SFTP_PERMISSION_DENIED
            os.unlink(place.path)
            return SFTP_OK
        except Refused as exc:
            return exc.code
        except OSError as exc:
            return errno_status(exc)

    def rename(self, oldpath: str, newpath: str) -> int:
        """Only within one IN folder, to a name not taken (e.g. WinSCP's ``x.filepart``)."""
        try:
            old = self._file(oldpath, IN_FOLDERS)
            new = self._file(newpath, IN_FOLDERS)
            if old.folder != new.folder:
                return SFTP_PERMISSION_DENIED
            if not stat.S_ISREG(os.lstat(old.path).st_mode):
                return SFTP_PERMISSION_DENIED
            os.link(old.path, new.path)
            os.unlink(old.path)
            self.recent.committed(new.path, _attributes(new.path))
        except Refused as exc:
            return exc.code
        except FileExistsError:
            return SFTP_PERMISSION_DENIED
        except OSError as exc:
            return errno_status(exc)
        if not is_temporary_name(os.path.basename(new.path)):
            self.session.uploaded(Path(new.path))
        return SFTP_OK

    posix_rename = rename

    def mkdir(self, path: str, attr: SFTPAttributes) -> int:
        return SFTP_PERMISSION_DENIED

    def rmdir(self, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def chattr(self, path: str, attr: SFTPAttributes) -> int:
        """SETSTAT: on one's own uploads (in the IN folders) the times, see
        ``sync.sftp_uploads.set_attributes``."""
        try:
            place = self._file(path, IN_FOLDERS)
            try:
                found = os.lstat(place.path)
            except FileNotFoundError:
                done = self.recent.set_attributes(place.path, attr)
                return SFTP_NO_SUCH_FILE if done is None else done
            if not stat.S_ISREG(found.st_mode):
                return SFTP_PERMISSION_DENIED
            return set_attributes(place.path, attr, found.st_size)
        except Refused as exc:
            return exc.code
        except OSError as exc:
            return errno_status(exc)

    def symlink(self, target_path: str, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def readlink(self, path: str) -> str | int:
        return SFTP_OP_UNSUPPORTED
