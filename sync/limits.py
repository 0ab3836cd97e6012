"""The SFTP server's limits, the per-address failure counter (delay, then ban) and the
random early drop of unauthenticated connections (OpenSSH's ``MaxStartups``).

Each limit that ``expedito serve`` and the app take as an option says so in its field's
metadata (``option``, ``unit``, ``help``): ``limit_options`` lists them, ``tui/cli.py`` adds
them to the command line, and the README's table shows the same defaults.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MB = 1024 * 1024
# OpenSSH's sftp-server answers READ with at most this many bytes (SFTP_MAX_MSG_LENGTH - 1024)
# and announces it in limits@openssh.com, so clients send requests of this size.
MAX_READ = 261_120
MAX_PACKET = 256 * 1024


def _option(name: str, unit: str, text: str, minimum: int = 0) -> dict[str, Any]:
    return {"option": name, "unit": unit, "help": text, "minimum": minimum}


@dataclass(frozen=True)
class ServerLimits:
    login_grace: float = field(
        default=30.0,
        metadata=_option("--login-grace", "s", "seconds a connection has to authenticate"),
    )
    max_auth_tries: int = 6  # per connection
    delay_after: int = 3  # failures from an address before each refusal is delayed...
    delay_base: float = 0.25  # ...by this, doubling with each further failure...
    delay_max: float = 4.0  # ...up to this
    ban_after: int = field(
        default=20,
        metadata=_option(
            "--ban-after",
            "failures",
            "failed logins from one address within 10 minutes before it is banned for 15 minutes",
        ),
    )
    ban_window: float = 600.0
    ban_time: float = 900.0
    max_startups: tuple[int, int, int] = field(
        default=(100, 30, 1000),
        metadata=_option(
            "--max-startups",
            "start:rate:full",
            "unauthenticated connections, all addresses: "
            "from START on, each new one from an address that already has one is dropped "
            "with a probability of RATE %, growing to 100 % at FULL; from FULL on, every new "
            "one (OpenSSH's MaxStartups, but an address's first connection waits for FULL)",
        ),
    )
    per_source_max_startups: int = field(
        default=8,
        metadata=_option(
            "--per-source-max-startups",
            "connections",
            "unauthenticated connections from one address (an IPv6 address: its /64)",
        ),
    )
    max_sessions_per_user: int = field(
        default=4,
        metadata=_option(
            "--max-sessions", "connections", "authenticated connections of one technical user"
        ),
    )
    max_channels_per_connection: int = 4
    max_file_size: int = field(
        default=512 * MB,
        metadata=_option(
            "--max-file-size", "MB", "largest file an SFTP user may upload", minimum=1
        ),
    )
    max_open_handles: int = field(
        default=64,
        metadata=_option(
            "--max-open-handles", "handles", "files and folders one SFTP session may hold open"
        ),
    )
    in_quota: int = field(
        default=2048 * MB,
        metadata=_option(
            "--in-quota", "MB", "what may wait in one user's IN folders (uploads refused beyond)"
        ),
    )
    idle_timeout: float = field(
        default=600.0,
        metadata=_option(
            "--idle-timeout",
            "s",
            "an authenticated connection without a request for this long is closed (0: never)",
        ),
    )
    window_size: int = field(
        default=16 * MB,
        metadata=_option(
            "--window", "MB", "SSH window of one channel: what the client may send ahead"
        ),
    )
    connection_window: int = field(
        default=32 * MB,
        metadata=_option(
            "--connection-window",
            "MB",
            "the windows of one connection's channels together: "
            "the most it can make the server hold",
        ),
    )
    max_packet_size: int = 256 * 1024  # SSH channel packet (paramiko's default is 32 KB)
    # close the sessions of revoked accounts (idle ones too; on any node) this often
    liveness_sweep: float = 0.2  # at each sweep (every 0.25 s): one query for all sessions
    log_burst: int = field(
        default=10,
        metadata=_option(
            "--pre-auth-log-lines",
            "lines",
            "log lines about one address before it authenticates, each minute "
            "(the others: one line with their count)",
        ),
    )
    log_total: int = field(
        default=100,
        metadata=_option(
            "--pre-auth-log-total",
            "lines",
            "log lines about all addresses together before they authenticate, each minute "
            "(the others: one line with their count; 0: no such cap)",
        ),
    )
    log_interval: float = 60.0  # the minute of log_burst and log_total


@dataclass(frozen=True)
class LimitOption:
    field: str
    option: str  # --name
    unit: str  # "MB": the option is in MiB, the limit in bytes
    help: str
    default: object  # in the option's unit
    minimum: int = 0

    def parse(self, text: str) -> object:
        """The option's value from the command line (in its unit); ValueError, one line."""
        if isinstance(self.default, tuple):
            return parse_max_startups(text)
        try:
            value: float = float(text) if isinstance(self.default, float) else int(text)
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None
        if value < self.minimum:
            raise ValueError(
                f"{text!r} is too small: give at least {self.minimum}"
                + (f" ({self.unit})" if self.unit else "")
            )
        return value


def limit_options() -> list[LimitOption]:
    """The limits ``expedito serve`` and the app take as options, with their defaults."""
    options = []
    for item in fields(ServerLimits):
        if "option" not in item.metadata:
            continue
        default = item.default
        if item.metadata["unit"] == "MB" and isinstance(default, int):
            default = default // MB
        options.append(
            LimitOption(
                item.name,
                item.metadata["option"],
                item.metadata["unit"],
                item.metadata["help"],
                default,
                item.metadata["minimum"],
            )
        )
    return options


def limits_from_options(values: Mapping[str, object]) -> ServerLimits:
    """The limits from option values by field name, in the options' units (``MB`` → bytes);
    a field missing (or None) keeps its default."""
    given: dict[str, Any] = {}
    for option in limit_options():
        value = values.get(option.field)
        if value is None:
            continue
        given[option.field] = value * MB if option.unit == "MB" else value  # type: ignore[operator]
    return ServerLimits(**given)


def format_default(option: LimitOption) -> str:
    if isinstance(option.default, tuple):
        return ":".join(str(part) for part in option.default)
    if isinstance(option.default, float) and option.default.is_integer():
        return str(int(option.default))
    return str(option.default)


def parse_max_startups(text: str) -> tuple[int, int, int]:
    """``START:RATE:FULL`` (or ``FULL`` alone: no early drop before it), as OpenSSH takes it;
    ValueError when it does not hold 0 < START <= FULL, 0 <= RATE <= 100."""
    parts = text.split(":")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"not START:RATE:FULL: {text!r}") from None
    if len(numbers) == 1:
        numbers = [numbers[0], 100, numbers[0]]
    if len(numbers) != 3:
        raise ValueError(f"not START:RATE:FULL: {text!r}")
    start, rate, full = numbers
    if not (0 < start <= full and 0 <= rate <= 100):
        raise ValueError(f"MaxStartups needs 0 < START <= FULL and 0 <= RATE <= 100: {text!r}")
    return start, rate, full


def early_drop(
    startups: int,
    limits: ServerLimits,
    draw: Callable[[], float] = random.random,
    first: bool = False,
) -> bool:
    """Drop a new connection when ``startups`` are already waiting to authenticate?
    OpenSSH's ``drop_connection``: never below START, always from FULL, in between with a
    probability growing linearly from RATE % to 100 %. The ``first`` connection of an
    address (none of its others waiting) is dropped only from FULL: a burst of partners
    logging in at :00 from their many hosts is not thinned out at random, while one
    address's flood (capped by ``per_source_max_startups`` anyway) still is."""
    start, rate, full = limits.max_startups
    if startups >= full:
        return True
    if startups < start or first:
        return False
    percent = rate + (100 - rate) * (startups - start) / (full - start)
    return draw() * 100 < percent


def source_of(address: str) -> str:
    """What the per-address limits count by: the address itself (IPv4), or its /64 (IPv6:
    a single host usually has a whole /64 to pick addresses from)."""
    if ":" not in address:
        return address
    try:
        network = ipaddress.ip_network(f"{address}/64", strict=False)
    except ValueError:
        return address
    return str(network)


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
            if record.banned_until <= now and all(
                now - t >= self.limits.ban_window for t in record.failures
            ):
                del self._records[address]
