"""The SFTP server's limits, and the per-address failure counter (delay, then ban)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MB = 1024 * 1024
# OpenSSH's sftp-server answers READ with at most this many bytes (SFTP_MAX_MSG_LENGTH - 1024)
# and announces it in limits@openssh.com, so clients send requests of this size.
MAX_READ = 261_120
MAX_PACKET = 256 * 1024


@dataclass(frozen=True)
class ServerLimits:
    login_grace: float = 30.0  # seconds to authenticate
    max_auth_tries: int = 6  # per connection
    delay_after: int = 3  # failures from an address before each refusal is delayed...
    delay_base: float = 0.25  # ...by this, doubling with each further failure...
    delay_max: float = 4.0  # ...up to this
    ban_after: int = 20  # failures from an address within ban_window: banned
    ban_window: float = 600.0
    ban_time: float = 900.0
    max_unauthenticated: int = 20  # connections not (yet) authenticated, all addresses
    max_sessions_per_user: int = 4  # authenticated connections of one technical user
    max_channels_per_connection: int = 4
    max_file_size: int = 512 * MB
    max_open_handles: int = 64
    window_size: int = 64 * MB  # SSH channel window (paramiko's default is 2 MB)
    max_packet_size: int = 256 * 1024  # SSH channel packet (paramiko's default is 32 KB)
    liveness_sweep: float = 2.0  # also close idle sessions of revoked accounts this often


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    banned_until: float = 0.0


class AddressGuard:
    """Counts authentication failures per address: a growing delay, then a ban."""

    def __init__(self, limits: ServerLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def banned(self, address: str) -> bool:
        with self._lock:
            record = self._records.get(address)
            return record is not None and record.banned_until > self.clock()

    def failure(self, address: str) -> float:
        """Record a failure; returns the delay to apply before answering (seconds)."""
        now = self.clock()
        with self._lock:
            record = self._records.setdefault(address, _Record())
            record.failures = [t for t in record.failures if now - t < self.limits.ban_window]
            record.failures.append(now)
            count = len(record.failures)
            if count >= self.limits.ban_after:
                record.banned_until = now + self.limits.ban_time
            if len(self._records) > 10_000:
                self._forget_old(now)
        extra = count - self.limits.delay_after
        if extra <= 0:
            return 0.0
        return float(min(self.limits.delay_max, self.limits.delay_base * 2 ** (extra - 1)))

    def success(self, address: str) -> None:
        with self._lock:
            record = self._records.get(address)
            if record is not None and record.banned_until <= self.clock():
                del self._records[address]

    def _forget_old(self, now: float) -> None:
        for address, record in list(self._records.items()):
            if record.banned_until <= now and all(now - t >= self.limits.ban_window
                                                  for t in record.failures):
                del self._records[address]
