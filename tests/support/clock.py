"""The tests' clock (``FakeClock``, a ``sync.schedule.Clock`` that only moves when told), the
fixed moments the tests use, and the app's countdown frozen at one of them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypedDict
from zoneinfo import ZoneInfo

from sync.schedule import Schedule, to_local

BXL = ZoneInfo("Europe/Brussels")
FROZEN = datetime(2026, 1, 15, 14, 17, 26, tzinfo=BXL)
"""The app's clock in the Pilot and snapshot tests: the countdown reads 14:30, in 12:34."""


@dataclass
class FakeClock:
    """A clock that only moves when told to; sleepers wake when it passes their deadline.

    Kept in UTC inside: aware datetimes of one zone compare and add on their wall clocks.
    """

    current: datetime
    tz: tzinfo | None = None
    _sleepers: list[tuple[datetime, asyncio.Future[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.current = self.current.astimezone(UTC)

    def now(self) -> datetime:
        return to_local(self.current, self.tz)

    async def sleep(self, seconds: float) -> None:
        deadline = self.current + timedelta(seconds=max(0.0, seconds))
        if deadline <= self.current:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((deadline, future))
        await future

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware) and wake whoever slept until then (loop thread only)."""
        self.current = moment.astimezone(UTC)
        waiting = []
        for deadline, future in self._sleepers:
            if deadline <= self.current:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((deadline, future))
        self._sleepers = waiting

    def advance(self, **delta: float) -> None:
        self.set(self.current + timedelta(**delta))


class CountdownArguments(TypedDict):
    clock: FakeClock
    schedule: Schedule


def frozen_countdown(moment: datetime = FROZEN) -> CountdownArguments:
    """App arguments for a countdown that stands still (``Prochaine synchronisation à
    14:30 — dans 12:34``) until the test moves ``clock``."""
    return {"clock": FakeClock(moment, BXL), "schedule": Schedule(30, BXL)}


def frozen_day(hour: int, minute: int, second: int = 0) -> datetime:
    """A time of the frozen day (15/01/2026) in Brussels."""
    return FROZEN.replace(hour=hour, minute=minute, second=second)
