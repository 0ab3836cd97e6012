"""A channel's input pipes on the server: bounded by the window the server granted.

paramiko feeds every SSH_MSG_CHANNEL_DATA into the channel's pipe without checking it against
the window it announced, so a client that ignores the window (or whose data nobody reads: a
channel that never starts a subsystem, an SFTP thread blocked on a client that stopped
reading) could make the server hold any amount. ``ChunkPipe`` refuses more than its window
(the client broke the protocol: the connection ends, as OpenSSH's "rcvd too much data");
``DiscardPipe`` replaces the extended-data pipe, which no one here reads.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from paramiko.buffered_pipe import BufferedPipe, PipeTimeout
from paramiko.ssh_exception import SSHException


class ChunkPipe(BufferedPipe):
    """A channel's input pipe that keeps the received chunks in a queue, at most ``limit``
    bytes unread.

    paramiko's ``BufferedPipe`` appends every SSH packet to one ``array`` and deletes what is
    read from its front, moving the whole backlog in memory at each read: with a large window
    the backlog of an upload reaches megabytes and this was the server's largest cost. Here a
    read takes whole chunks (no copy when it takes exactly one) or the front of one.
    """

    # set by BufferedPipe.__init__ (missing from paramiko's type stubs)
    _lock: threading.Lock
    _cv: threading.Condition
    _event: threading.Event | None
    _closed: bool

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._chunks: deque[bytes | memoryview] = deque()
        self._start = 0  # bytes of the first chunk already read
        self._size = 0
        self._want = 1  # the reader waits for this many bytes (fewer wake-ups: ``gather``)

    @classmethod
    def replacing(cls, old: BufferedPipe[bytes], limit: int) -> ChunkPipe:
        """A pipe with ``old``'s unread bytes and state (call it from the feeding thread)."""
        pipe = cls(limit)
        pipe._event = getattr(old, "_event", None)
        pipe._closed = getattr(old, "_closed", False)
        left = old.empty()
        if left:
            pipe.feed(left)
        return pipe

    def set_event(self, event: threading.Event) -> None:
        with self._lock:
            self._event = event
            if self._closed or self._size:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes | memoryview | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self._lock:
            if data:
                if self._size + len(data) > self.limit:
                    raise SSHException(
                        f"more channel data than the window "
                        f"({self._size + len(data)} > {self.limit} bytes)"
                    )
                # a view of a decrypted packet is kept as it is (sync.ssh_packets)
                self._chunks.append(data if isinstance(data, memoryview) else bytes(data))
                self._size += len(data)
            if self._event is not None:
                self._event.set()
            if self._size >= self._want or not data:
                self._cv.notify_all()

    def gather(self, nbytes: int, at_least: int, timeout: float | None = None) -> bytes:
        """Up to ``nbytes``, once ``min(nbytes, at_least)`` are there (or the pipe closed):
        the reader of a 255 KB SFTP request is woken once or twice, not for each 32 KB
        packet. ``at_least`` must stay below the window the reader acknowledges by."""
        want = max(1, min(nbytes, at_least))
        with self._lock:
            if self._size < want and not self._closed:
                deadline = None if timeout is None else time.monotonic() + timeout
                self._want = want
                try:
                    while self._size < want and not self._closed:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise PipeTimeout()
                        self._cv.wait(remaining)
                finally:
                    self._want = 1
            if not self._size:
                return b""
            return self._take(nbytes)

    def read_ready(self) -> bool:
        with self._lock:
            return self._size > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        with self._lock:
            if not self._size:
                if self._closed:
                    return b""
                if timeout == 0.0:
                    raise PipeTimeout()
                deadline = None if timeout is None else time.monotonic() + timeout
                while not self._size and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise PipeTimeout()
                    self._cv.wait(remaining)
            return self._take(nbytes)

    def _take(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` from the front (lock held)."""
        chunks = self._chunks
        parts: list[bytes | memoryview] = []
        while nbytes > 0 and chunks:
            head, start = chunks[0], self._start
            available = len(head) - start
            if available <= nbytes:
                chunks.popleft()
                self._start = 0
                parts.append(head if not start else memoryview(head)[start:])
                nbytes -= available
                self._size -= available
            else:
                parts.append(memoryview(head)[start : start + nbytes])
                self._start += nbytes
                self._size -= nbytes
                nbytes = 0
        if not self._size and self._event is not None and not self._closed:
            self._event.clear()
        if len(parts) == 1:
            return bytes(parts[0])  # no copy when it is a whole chunk
        return b"".join(parts)

    def empty(self) -> bytes:
        with self._lock:
            return self._take(self._size)

    def __len__(self) -> int:
        with self._lock:
            return self._size


class DiscardPipe(BufferedPipe):
    """A pipe that keeps nothing (a client's extended data: nothing here reads it)."""

    def feed(self, data: bytes | str) -> None:
        return None
