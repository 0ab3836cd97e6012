"""A small ctypes binding of Linux's inotify: the events of closing a file written, and of a
file renamed into a folder. ``Inotify()`` raises ``OSError`` where there is none (not Linux,
no more instances): the intake then scans instead."""

from __future__ import annotations

import ctypes
import os
import select
import struct
from collections.abc import Iterator

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len


class Inotify:
    """One inotify instance: ``add`` folders, ``read`` what happened in them."""

    def __init__(self) -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            self._add = libc.inotify_add_watch
            self._rm = libc.inotify_rm_watch
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (AttributeError, OSError) as exc:
            raise OSError(f"no inotify here: {exc}") from None
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"inotify_init1: {os.strerror(errno)}")
        self.fd: int = fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    def add(self, folder: str, mask: int = IN_CLOSE_WRITE | IN_MOVED_TO) -> int:
        """Watch ``folder`` (not through a symlink); its watch descriptor."""
        wd = int(self._add(self.fd, os.fsencode(folder), mask | IN_ONLYDIR | IN_DONT_FOLLOW))
        if wd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"inotify_add_watch {folder}: {os.strerror(errno)}")
        return wd

    def remove(self, wd: int) -> None:
        self._rm(self.fd, wd)  # a folder already gone: nothing to remove

    def read(self, timeout: float | None) -> Iterator[tuple[int, int, str]]:
        """``(wd, mask, name)`` of what happened, waiting at most ``timeout`` seconds."""
        if not self._poll.poll(None if timeout is None else int(timeout * 1000)):
            return
        try:
            data = os.read(self.fd, 256 * 1024)
        except BlockingIOError:
            return
        offset = 0
        while offset + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            offset += _HEADER.size
            raw = data[offset : offset + length].split(b"\0", 1)[0]
            offset += length
            yield wd, mask, os.fsdecode(raw)

    def close(self) -> None:
        os.close(self.fd)
