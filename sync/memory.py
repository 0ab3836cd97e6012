"""Giving freed memory back to the system (glibc keeps what Python freed for reuse).

After a connection that held large buffers ends, its memory is free inside the process but
glibc's arenas keep it (RSS stays at the peak); ``malloc_trim(0)`` returns the free pages.

Large blocks: glibc maps a block of 128 KiB or more on its own and unmaps it when freed, but
the first such block freed raises that threshold to its size (up to 32 MiB), so that later
blocks as large come from the arenas. A password check (scrypt, ``store.passwords``) takes
16 MiB: after the first, each later one made in a worker thread was carved from that thread's
arena, whose free top glibc keeps (``malloc_trim`` does not trim it) — 16 MiB more resident
for the rest of the session, at every login and password change.
:func:`map_large_blocks_apart` fixes the threshold (``mallopt``) instead.

Elsewhere than on glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)
LARGE_BLOCK = 4 * 1024 * 1024  # mapped on its own from this size: scrypt's 16 MiB, not 1 MiB reads

_libc: ctypes.CDLL | None = None
_looked_up = False
_lock = threading.Lock()


def _glibc() -> ctypes.CDLL | None:
    global _libc, _looked_up
    with _lock:
        if not _looked_up:
            _looked_up = True
            try:
                libc = ctypes.CDLL(None)  # the process's own symbols: the C library's among them
                if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt"):
                    _libc = libc
            except OSError:
                _libc = None
    return _libc


def _malloc_trim() -> Callable[[int], int] | None:
    libc = _glibc()
    return None if libc is None else libc.malloc_trim


def map_large_blocks_apart() -> None:
    """Have glibc map each block of ``LARGE_BLOCK`` or more on its own (given back when
    freed) for the rest of the process, and keep at most twice that free at the top of an
    arena, as its own rule would once it had raised the threshold that far."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)
        libc.mallopt(M_TRIM_THRESHOLD, 2 * LARGE_BLOCK)


def give_back_memory() -> None:
    """Return the process's free memory to the system, where the C library can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
