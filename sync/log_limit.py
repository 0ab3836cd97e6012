"""What one address can make the server log before it authenticates: a few lines, then a count.

A flood from one address (connections dropped by the per-address cap or the early drop, a
banned address coming back, clients that connect and go) would otherwise write a line per
connection. Per address, the first ``burst`` lines of each ``interval`` are logged; the others
are counted, and once the interval is over one line says how many were left out and what the
last one was. The table is bounded: past ``max_addresses`` addresses in one interval, the
others share one count.
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
    """Per address: ``burst`` lines an ``interval``, then one summary line with the count."""

    def __init__(
        self,
        burst: int = 10,
        interval: float = 60.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.burst = burst
        self.interval = interval
        self.max_addresses = max_addresses
        self.clock = clock
        self.logger = logger
        self._windows: dict[str, _Window] = {}
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
            if window.logged < self.burst:
                window.logged += 1
                allowed = True
            else:
                window.left_out += 1
                window.last = text
                allowed = False
        self._summarise(ended)
        return allowed

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
        self._summarise(ended)

    def _summarise(self, ended: list[tuple[str, _Window]]) -> None:
        for address, window in ended:
            if window.left_out:
                self.logger.info(
                    "%s: %d more lines before authentication not logged in %.0f s (the last: %s)",
                    address,
                    window.left_out,
                    self.interval,
                    window.last,
                )
