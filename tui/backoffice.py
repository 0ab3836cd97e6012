"""The app's side of the back office: the services it runs, the countdown, cycles seen.

Unless ``--no-serve``, the app runs the sync worker, the SFTP server and the batch intake
in its own process (``sync.services``, on a loop of their own in a daemon thread), started
once the store is open and stopped when the app ends. If the SFTP server cannot listen (the
port is taken: most likely an ``expedito serve`` on the same database) the worker runs
alone and ``sftp_error`` says why.

The countdown reads the worker (``next_slot`` / ``seconds_to_next``) when it runs here,
else the schedule with the app's clock (``--no-serve``: the same :00/:30 slots). When a cycle
completes the app posts :class:`SyncCompleted` to itself: from the worker's listener when
the worker runs here, else from a light poll of the ``sync_cycle`` table after each slot
(``poll_due`` / ``slot_done``), since another process runs the cycle then.

Nothing here imports the services (paramiko) or the store before it is needed.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from textual.message import Message

from sync.schedule import (
    Clock,
    Schedule,
    SystemClock,
    domain_time,
    seconds_between,
    slot_key,
)

if TYPE_CHECKING:
    from store.db import Target
    from sync.cycle import CycleResult
    from sync.services import ServiceConfig, Services
    from tui.i18n import Translator

log = logging.getLogger("expedito.app")

ConfigFactory = Callable[["Target | None"], "ServiceConfig"]
POLL_SOON = 2  # seconds between looks at the sync_cycle table just after a slot (--no-serve)
POLL_LATER = 30  # … and once the slot is two minutes old (no process may be running it)


@dataclass(frozen=True)
class SyncNotice:
    """A synchronisation cycle completed (here or in another process)."""

    slot: datetime  # aware, local: the slot the cycle ran for (e.g. 14:30)
    provisioned: int | None = None  # channels provisioned or re-keyed; None when not known


@dataclass(frozen=True)
class SftpServerInfo:
    """What a partner needs to connect: where the SFTP server listens, its host key."""

    address: tuple[str, int] | None  # None: not known (port 0 and not served here)
    # ``ssh-ed25519 SHA256:…``, ``ssh-rsa SHA256:…``; empty: no host key yet (never started)
    fingerprints: tuple[str, ...]


class SyncCompleted(Message):
    """Posted to the app when a cycle completes; the app hands ``notice`` to the pages
    (``screens.base.Page.sync_completed``)."""

    def __init__(self, notice: SyncNotice) -> None:
        super().__init__()
        self.notice = notice


class BackOfficeStarted(Message):
    """Posted to the app once the services started (or failed to serve SFTP: ``error``)."""

    def __init__(self, error: OSError | None) -> None:
        super().__init__()
        self.error = error


def format_remaining(seconds: float) -> str:
    """``12:34`` (minutes:seconds, rounded up so the slot itself never shows ``00:00``)."""
    whole = max(0, math.ceil(seconds - 1e-6))
    return f"{whole // 60:02d}:{whole % 60:02d}"


class SyncStatus(NamedTuple):
    """What the header's countdown slot shows: ``text``, or ``short`` when the title and
    ``text`` do not both fit (80 columns)."""

    text: str
    short: str


class BackOffice:
    """The services the app runs (or not), and what the countdown and the pages need."""

    def __init__(
        self,
        serve: bool,
        config: ConfigFactory | None = None,
        clock: Clock | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self.serve = serve and config is not None
        self._config = config
        self._clock_given = clock is not None
        self.schedule = schedule or Schedule()
        self.clock: Clock = clock or SystemClock(self.schedule.tz)
        self.services: Services | None = None
        self.sftp_error: OSError | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._seen_slot: datetime | None = None  # --no-serve: the latest slot known done
        self._polled_slot: datetime | None = None
        self._next_poll = 0.0
        # (from, the next slot after it): as timestamps, and the slot
        self._next: tuple[float, float, datetime] | None = None

    # --- the services -------------------------------------------------------------------------

    def start(self, db_path: Target | None, on_cycle: Callable[[SyncNotice], object]) -> None:
        """Start the services (blocking: run it in a thread). ``on_cycle`` is called on the
        worker's thread after each completed cycle."""
        if not self.serve or self._config is None:
            return
        from sync.services import start_services_or_worker

        config = self._config(db_path)
        if config.schedule != self.schedule:
            raise ValueError(
                f"the services' schedule {config.schedule} is not the countdown's {self.schedule}"
            )
        if self._clock_given and config.clock is None:
            config = replace(config, clock=self.clock)

        def completed(result: CycleResult) -> None:
            on_cycle(SyncNotice(result.slot, result.provisioned + result.rekeyed))

        services, error = start_services_or_worker(config, completed)
        with self._lock:
            if not self._closed:
                self.services, self.sftp_error = services, error
                return
        services.stop_in_thread()  # the app ended while they were starting

    def stop(self) -> None:
        """Stop the services (blocking); later ``start`` calls stop what they start."""
        with self._lock:
            self._closed = True
            services, self.services = self.services, None
        if services is not None:
            services.stop_in_thread()

    @property
    def sftp_address(self) -> tuple[str, int] | None:
        """Where this process's SFTP server listens; None when it does not run here."""
        services = self.services
        if services is None or not services.config.serve_sftp:
            return None
        return services.sftp_address

    def sftp_server_info(self, db_path: Target | None) -> SftpServerInfo | None:
        """Blocking (reads the host key file: call it in a thread). From the running services
        when they serve SFTP here, else from the configuration the services would use (the
        key file ``expedito serve`` made, if any: never created here). None: no
        configuration (the app was built without one)."""
        services = self.services
        if services is not None and services.config.serve_sftp:
            return SftpServerInfo(services.sftp_address, services.host_key_fingerprints)
        if services is not None:
            config = services.config  # the worker alone: another process serves SFTP
        elif self._config is not None:
            config = self._config(db_path)
        else:
            return None
        address = (config.host, config.port) if config.port else None
        path = config.host_key_path
        if not path.is_file():
            return SftpServerInfo(address, ())
        import paramiko

        from sync.hostkey import host_key_fingerprints

        try:
            return SftpServerInfo(address, host_key_fingerprints(path))
        except (OSError, paramiko.SSHException) as exc:
            log.warning("cannot read the SFTP host key %s: %s", path, exc)
            return SftpServerInfo(address, ())

    def run_cycle_now(self, db_path: Target | None, owner: str) -> CycleResult:
        """Blocking: a synchronisation cycle at once (the operators' *Lancer maintenant*), for
        a slot of its own (this minute); its lease in the database decides who runs it, as for
        the scheduled ones."""
        from sync.cycle import run_cycle

        services = self.services
        if services is not None:
            homes = services.config.homes_root
        elif self._config is not None:
            homes = self._config(db_path).homes_root
        else:
            from sync.homes import default_homes_root

            homes = default_homes_root()
        slot = self.clock.now().replace(second=0, microsecond=0)
        return run_cycle(slot, homes, self.clock.now, owner=owner)

    # --- the countdown ------------------------------------------------------------------------

    def _now(self) -> datetime:
        """The countdown's now: the worker's clock when it runs here, else the app's."""
        services = self.services
        return (services.worker.clock if services is not None else self.clock).now()

    def _next_after(self, now: datetime) -> datetime:
        """The first slot after ``now`` (the schedule's), worked out once a slot: the one
        found last still is while ``now`` is between the instant it was found for and it
        (the schedule walks the minutes in the local zone: some 30 conversions a call)."""
        instant = now.timestamp()  # compared as instants: wall clocks repeat in the autumn
        found = self._next
        if found is None or not found[0] <= instant < found[1]:
            slot = self.schedule.next_slot(now)
            found = self._next = (instant, slot.timestamp(), slot)
        return found[2]

    def next_slot(self) -> datetime:
        return self._next_after(self._now())

    def seconds_to_next(self) -> float:
        now = self._now()
        return seconds_between(self._next_after(now), now)

    def local_now(self) -> datetime:
        """The back office's clock as the domain dates things: naive server local time, to
        the second (``store.clock.local_now`` when the clock is the real one)."""
        return domain_time(self.clock.now(), self.schedule.tz)

    def countdown(self, t: Translator) -> SyncStatus:
        """``Prochaine synchronisation à 14:30 — dans 12:34`` and its short form ``Synchro
        14:30 — 12:34`` (with a note without SFTP)."""
        now = self._now()
        slot = self._next_after(now)
        values = {
            "time": f"{slot:%H:%M}",
            "remaining": format_remaining(seconds_between(slot, now)),
        }
        status = SyncStatus(t("sync.countdown", **values), t("sync.countdown_short", **values))
        if self.sftp_error is not None:
            note = t("sync.sftp_off")
            status = SyncStatus(f"{note} · {status.text}", f"{note} · {status.short}")
        return status

    # --- cycles run by another process (--no-serve) -------------------------------------------

    def poll_due(self) -> datetime | None:
        """The slot to look up in the database now, if any (called each second).

        When the worker runs here its listener says when a cycle completes: nothing to poll.
        Otherwise, once a slot has passed, look every few seconds whether it is done.
        """
        if self.services is not None:
            return None
        now = self.clock.now()
        slot = self.schedule.current_slot(now)
        if self._seen_slot is None:
            self._seen_slot = slot  # whatever ran before the app started is not news
        if slot_key(slot) <= slot_key(self._seen_slot):
            return None
        if slot != self._polled_slot:
            self._polled_slot, self._next_poll = slot, 0.0
        age = seconds_between(now, slot)
        if age < self._next_poll:
            return None
        self._next_poll = age + (POLL_SOON if age < 120 else POLL_LATER)
        return slot

    def check_slot(self, slot: datetime) -> SyncNotice | None:
        """Blocking (database): a notice if ``slot`` is done and not yet announced."""
        from sync.cycle import slot_done

        if not slot_done(slot):
            return None
        with self._lock:
            if self._seen_slot is not None and slot_key(slot) <= slot_key(self._seen_slot):
                return None
            self._seen_slot = slot
        return SyncNotice(slot)
