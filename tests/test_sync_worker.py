"""The asyncio worker with a fake clock: missed slots, the countdown, cycle notifications."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from store.models import ACTIVE, PENDING, Channel, SyncCycle
from sync.cycle import CycleResult, run_cycle
from sync.schedule import Schedule
from sync.worker import SyncWorker
from tests.support.clock import BXL, FakeClock
from tests.support.registration import register_demo_sender

pytestmark = pytest.mark.both_backends


def worker_at(moment: datetime, homes: Path, period: int = 30) -> tuple[SyncWorker, FakeClock]:
    clock = FakeClock(moment, BXL)
    return SyncWorker(homes, Schedule(period, BXL), clock, owner="worker"), clock


class Cycles:
    """The slots ``worker`` completes, as a listener hears them (on this loop: the worker's)."""

    def __init__(self, worker: SyncWorker) -> None:
        self.results: list[CycleResult] = []
        self._heard = asyncio.Event()
        worker.add_listener(self._hear)

    def _hear(self, result: CycleResult) -> None:
        self.results.append(result)
        self._heard.set()

    async def wait(self, count: int) -> CycleResult:
        """The ``count``-th completed slot, once there is one."""
        while len(self.results) < count:
            self._heard.clear()
            await self._heard.wait()
        return self.results[count - 1]


async def test_countdown_before_any_cycle(database: SqliteDatabase, tmp_path: Path) -> None:
    worker, clock = worker_at(datetime(2026, 11, 28, 14, 17, 26, tzinfo=BXL), tmp_path)
    assert worker.next_slot() == datetime(2026, 11, 28, 14, 30, tzinfo=BXL)
    assert worker.seconds_to_next() == 12 * 60 + 34
    clock.advance(seconds=34)
    assert worker.seconds_to_next() == 12 * 60


async def test_a_missed_slot_runs_at_once_then_each_slot(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    worker, clock = worker_at(datetime(2026, 11, 28, 14, 12, tzinfo=BXL), tmp_path)
    cycles = Cycles(worker)
    seen: list[CycleResult] = []
    remove = worker.add_listener(seen.append)
    worker.start()
    try:
        first = await asyncio.wait_for(cycles.wait(1), 10)
        # the 14:00 slot was missed (no process was running): it runs at start
        assert first.slot == datetime(2026, 11, 28, 14, 0, tzinfo=BXL)
        assert (first.status, first.provisioned) == ("done", 1)
        assert Channel.get().status == ACTIVE
        assert [r.slot for r in seen] == [first.slot]
        # nothing more until 14:30
        await asyncio.sleep(0.05)
        assert len(cycles.results) == 1
        clock.set(datetime(2026, 11, 28, 14, 30, tzinfo=BXL))
        second = await asyncio.wait_for(cycles.wait(2), 10)
        assert second.slot == datetime(2026, 11, 28, 14, 30, tzinfo=BXL)
        assert worker.next_slot() == datetime(2026, 11, 28, 15, 0, tzinfo=BXL)
        remove()
        clock.set(datetime(2026, 11, 28, 15, 0, 5, tzinfo=BXL))
        await asyncio.wait_for(cycles.wait(3), 10)
        assert len(seen) == 2
    finally:
        await worker.stop()
    assert SyncCycle.select().count() == 3


async def test_a_slot_done_by_another_process_is_reported(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    now = datetime(2026, 11, 28, 14, 30, 2, tzinfo=BXL)
    slot = datetime(2026, 11, 28, 14, 30, tzinfo=BXL)
    assert run_cycle(slot, tmp_path, lambda: now, owner="other").status == "done"
    worker, _ = worker_at(now, tmp_path)
    cycles = Cycles(worker)
    result = await worker.run_due()
    assert result is not None and result.status == "already"
    assert cycles.results == [result]  # reported as completed
    assert await worker.run_due() is None


async def test_the_worker_runs_the_repeated_autumn_slots(
    database: SqliteDatabase, tmp_path: Path
) -> None:
    worker, clock = worker_at(datetime(2026, 10, 25, 2, 10, tzinfo=BXL, fold=0), tmp_path)
    assert (await worker.run_due()) is not None  # 02:00 CEST
    clock.set(datetime(2026, 10, 25, 2, 0, 1, tzinfo=BXL, fold=1))  # 02:00 CET, an hour later
    result = await worker.run_due()
    assert result is not None and result.status == "done"
    assert SyncCycle.select().count() == 2


async def test_pending_until_the_slot(
    demo: SqliteDatabase, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    worker, clock = worker_at(datetime(2026, 11, 28, 14, 0, 30, tzinfo=BXL), tmp_path)
    await worker.run_due()  # the 14:00 slot, before the registration
    register_demo_sender(demo_credentials)
    assert await worker.run_due() is None
    assert Channel.get().status == PENDING
    clock.set(datetime(2026, 11, 28, 14, 29, 59, tzinfo=BXL))
    assert await worker.run_due() is None and worker.seconds_to_next() == 1
    clock.advance(seconds=1)
    result = await worker.run_due()
    assert result is not None and result.provisioned == 1
    assert Channel.get().status == ACTIVE
