"""The fixed moments the tests use, and the app's countdown frozen at one of them."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

from sync.schedule import FakeClock, Schedule

BXL = ZoneInfo("Europe/Brussels")
FROZEN = datetime(2026, 1, 15, 14, 17, 26, tzinfo=BXL)
"""The app's clock in the Pilot and snapshot tests: the countdown reads 14:30, in 12:34."""


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
