"""What one address can make the server log before it authenticates: a few lines, then a count.

A flood from one address (connections dropped by the per-address cap or the early drop, a
banned address coming back, clients that connect and go) would otherwise write a line per
connection. Per address, the first ``burst`` lines of each ``interval`` are logged; the others
are counted, and once the interval is over one line says how many were left out and what the
last one was. The table is bounded: past ``max_addresses`` addresses in one interval, the
others share one count. All addresses together get at most ``total`` lines an interval (their
summaries included): a flood from a whole range of addresses, each within its own few lines,
is a few lines too, and one line at the end of the interval counts the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("expedito.sftp")

OTHERS = "other addresses"


@dataclass
class _Window:
    started: float
    logged: int = 0
    left_out: int = 0
    last: str = ""


class AddressLogLimit:
    """Per address: ``burst`` lines an ``interval``, then one summary line with the count;
    all addresses together: ``total`` lines an interval (0: no such cap), summaries
    included, then one line for the rest."""

    def __init__(
        self,
        burst: int = 10,
        interval: float = 60.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
        total: int = 0,
    ) -> None:
        self.burst = burst
        self.interval = interval
        self.max_addresses = max_addresses
        self.clock = clock
        self.logger = logger
        self.total = total
        self._windows: dict[str, _Window] = {}
        self._all = _Window(clock())  # every address's lines in the current interval
        self._all_sources: set[str] = set()  # addresses whose lines the total cap left out
        self._lock = threading.Lock()

    def allow(self, address: str, text: str) -> bool:
        """May a line about ``address`` be logged now? If not it is counted (``text``: what
        it says, kept for the summary)."""
        now = self.clock()
        ended: list[tuple[str, _Window]] = []
        with self._lock:
            window = self._windows.get(address)
            if window is not None and now - window.started >= self.interval:
                ended.append((address, self._windows.pop(address)))
                window = None
            if window is None:
                if len(self._windows) >= self.max_addresses:
                    address = OTHERS
                    window = self._windows.setdefault(OTHERS, _Window(now))
                else:
                    window = self._windows[address] = _Window(now)
            if window.logged >= self.burst:
                window.left_out += 1
                window.last = text
                allowed = False
            elif self._all_full():
                self._leave_out(address, 1, text)
                allowed = False
            else:
                window.logged += 1
                self._all.logged += 1
                allowed = True
        self._summarise(ended)
        self._say_all(now)
        return allowed

    def pending(self) -> bool:
        """Whether lines were left out that a later ``flush`` must still count in a summary
        (the housekeeping sweeps until then; with nothing pending and no connection, it
        sleeps)."""
        with self._lock:
            return bool(self._all.left_out) or any(w.left_out for w in self._windows.values())

    def flush(self) -> None:
        """Say what was left out in the intervals that are over (the housekeeping calls it)."""
        now = self.clock()
        with self._lock:
            ended = [
                (address, window)
                for address, window in self._windows.items()
                if now - window.started >= self.interval
            ]
            for address, _ in ended:
                del self._windows[address]
        self._summarise(ended)  # counted in the interval of all addresses that is ending
        self._say_all(now)

    def _all_full(self) -> bool:
        return bool(self.total) and self._all.logged >= self.total

    def _leave_out(self, address: str, lines: int, last: str) -> None:
        """Count ``lines`` about ``address`` the total cap left out (lock held)."""
        self._all.left_out += lines
        self._all.last = last
        if len(self._all_sources) < self.max_addresses:
            self._all_sources.add(address)

    def _roll_all(self, now: float) -> tuple[_Window, int] | None:
        """Start a new interval for the total once the current one is over; the one that
        ended and its count of addresses, if it left lines out (lock held)."""
        if now - self._all.started < self.interval:
            return None
        ended, sources = self._all, len(self._all_sources)
        self._all, self._all_sources = _Window(now), set()
        return (ended, sources) if ended.left_out else None

    def _say_all(self, now: float) -> None:
        """Once the interval of all addresses is over: one line for what it left out."""
        with self._lock:
            over = self._roll_all(now)
        if over is not None:
            window, sources = over
            self.logger.info(
                "%d more lines before authentication, about %d addresses, not logged in "
                "%.0f s (at most %d lines for all addresses; the last: %s)",
                window.left_out,
                sources,
                self.interval,
                self.total,
                window.last,
            )

    def _summarise(self, ended: list[tuple[str, _Window]]) -> None:
        for address, window in ended:
            if not window.left_out:
                continue
            with self._lock:
                if self._all_full():  # the summary itself would pass the total
                    self._leave_out(address, window.left_out, window.last)
                    continue
                self._all.logged += 1
            self.logger.info(
                "%s: %d more lines before authentication not logged in %.0f s (the last: %s)",
                address,
                window.left_out,
                self.interval,
                window.last,
            )
