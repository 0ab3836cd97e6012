"""Giving freed memory back to the system (glibc keeps what Python freed for reuse).

After a connection that held large buffers ends, its memory is free inside the process but
glibc's arenas keep it (RSS stays at the peak); ``malloc_trim(0)`` returns the free pages.
Elsewhere than on glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked_up = False
_lock = threading.Lock()


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked_up
    with _lock:
        if not _looked_up:
            _looked_up = True
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _trim = libc.malloc_trim
            except (OSError, AttributeError):
                _trim = None
    return _trim


def give_back_memory() -> None:
    """Return the process's free memory to the system, where the C library can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
