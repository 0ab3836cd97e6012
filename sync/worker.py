"""The asyncio worker that runs a provisioning cycle at every slot.

It runs the slot that is due (also one missed while no process was running) as soon as it
starts, then sleeps to the next slot. The blocking cycle runs in a thread (``to_thread``);
nothing blocks the event loop. The UI asks it ``next_slot()`` / ``seconds_to_next()`` for the
countdown and learns that a cycle finished through ``add_listener``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from store.cycles import DONE, FAILED
from sync.cycle import LEASE, CycleResult, default_owner, run_cycle
from sync.schedule import Clock, Schedule, SystemClock, slot_key

log = logging.getLogger("expedito.sync")

Listener = Callable[[CycleResult], None]
MAX_NAP = 60.0  # re-read the clock at least this often (suspend, clock changes)
BUSY_POLL = 2.0  # while another process runs the slot
RETRY_AFTER_FAILURE = 60.0


class SyncWorker:
    """Runs ``run_cycle`` for each slot of ``schedule`` (the services' one, from the command
    line: the countdown shows the same); thread-safe getters and listeners."""

    def __init__(
        self,
        homes_root: str | os.PathLike[str],
        schedule: Schedule,
        clock: Clock | None = None,
        owner: str | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.homes_root = homes_root
        self.schedule = schedule
        self.clock: Clock = clock or SystemClock(self.schedule.tz)
        self.owner = owner or default_owner()
        self.lease = lease
        self._done_slot: datetime | None = None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None

    # What the countdown shows -------------------------------------------------------------

    def next_slot(self) -> datetime:
        """The next synchronisation, aware, in local time (e.g. 14:30)."""
        return self.schedule.next_slot(self.clock.now())

    def seconds_to_next(self) -> float:
        """Seconds from now to ``next_slot()`` (> 0)."""
        return self.schedule.seconds_to_next(self.clock.now())

    # Being told a cycle finished ----------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(result)`` after each completed slot; returns a function to remove it.

        Listeners run on the worker's event-loop thread (from a UI running elsewhere, hop over
        with ``App.call_from_thread``). They are called when this process ran the cycle
        (``status == "done"``) and when it saw another process finish it (``"already"``).
        """
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def _completed(self, result: CycleResult) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(result)
            except Exception:
                log.exception("sync listener failed")

    # Running ------------------------------------------------------------------------------

    async def run_due(self) -> CycleResult | None:
        """Run the slot that is due now if it has not been completed; None if nothing to do."""
        slot = self.schedule.current_slot(self.clock.now())
        if slot_key(slot) == self._done_slot:
            return None
        result = await asyncio.to_thread(
            run_cycle, slot, self.homes_root, self.clock.now, self.owner, self.lease
        )
        if result.status in (DONE, "already"):
            self._done_slot = slot_key(slot)
            self._completed(result)
        return result

    async def run(self) -> None:
        """Forever: run what is due, then sleep until the next slot."""
        while True:
            try:
                result = await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync worker: cycle attempt failed")
                result = CycleResult(
                    self.schedule.current_slot(self.clock.now()), FAILED, self.owner
                )
            nap = min(self.seconds_to_next(), MAX_NAP)
            if result is not None and result.status == "busy":
                nap = min(nap, BUSY_POLL)
            elif result is not None and result.status == FAILED:
                nap = min(nap, RETRY_AFTER_FAILURE)
            await self.clock.sleep(max(nap, 0.001))

    def start(self) -> asyncio.Task[None]:
        """Start ``run()`` as a task on the running loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="sync-worker")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
