"""The synchronisation schedule: slots on the hour and the half hour, in local time.

Times here are *aware* datetimes. A slot is an instant whose local wall-clock time has
``minute % period == 0`` and ``second == 0``; with Europe/Brussels and the default 30-minute
period that is every :00 and :30. Slots are found by stepping whole minutes in UTC and looking
at the local time of each instant, so the daylight-saving changes need no special case: in
spring 02:00 and 02:30 do not exist (01:30 CET is followed by 03:00 CEST), in autumn 02:00
and 02:30 happen twice and each of them is a slot of its own.

A slot is stored in the database as its naive UTC instant (``slot_key``), which stays unique
through the autumn hour that repeats.

One ``Schedule`` is built from the command line (``--period``; ``DEFAULT_PERIOD`` when not
given) and the period is checked there, by ``Schedule`` itself; the service configuration
carries it to the worker, and the app's countdown and pages read the same one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

DEFAULT_PERIOD = 30
_MINUTE = timedelta(minutes=1)


def check_period(period: int) -> int:
    """A period in minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60); the one
    check, made when a ``Schedule`` is built."""
    if period < 1 or 60 % period:
        raise ValueError(f"the period must divide 60 minutes, not {period}")
    return period


def to_local(moment: datetime, tz: tzinfo | None = None) -> datetime:
    """``moment`` (aware) as local time: in ``tz``, or the system's zone when ``tz`` is None."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the schedule works with aware datetimes")
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def domain_time(moment: datetime, tz: tzinfo | None = None) -> datetime:
    """``moment`` (aware) as the domain stores its dates: naive local time, to the second
    (what ``store.clock.local_now`` gives for the real clock)."""
    return to_local(moment, tz).replace(tzinfo=None, microsecond=0)


def _is_slot(instant: datetime, period: int, tz: tzinfo | None) -> bool:
    return to_local(instant, tz).minute % period == 0


def _floor_minute(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the schedule works with aware datetimes")
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def next_slot(now: datetime, period: int = DEFAULT_PERIOD, tz: tzinfo | None = None) -> datetime:
    """The first slot strictly after ``now``, as local time."""
    return Schedule(period, tz).next_slot(now)


def current_slot(now: datetime, period: int = DEFAULT_PERIOD, tz: tzinfo | None = None) -> datetime:
    """The latest slot at or before ``now``, as local time (the one due now, if not yet run)."""
    return Schedule(period, tz).current_slot(now)


def slot_key(slot: datetime) -> datetime:
    """The slot as stored in ``SyncCycle.slot``: naive UTC, unique even in the repeated hour."""
    return slot.astimezone(UTC).replace(tzinfo=None)


def seconds_between(later: datetime, earlier: datetime) -> float:
    """Real seconds between two aware datetimes (in UTC: Python subtracts two datetimes of
    the same zone on their wall clocks, which is wrong across a daylight-saving change)."""
    return (later.astimezone(UTC) - earlier.astimezone(UTC)).total_seconds()


class Clock(Protocol):
    """Where the worker gets the time and how it waits (the tests' clock only moves when told:
    ``tests.support.clock.FakeClock``)."""

    def now(self) -> datetime:
        """The current instant, aware."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real time, in ``tz`` (or the system's local zone)."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return to_local(datetime.now(UTC), self.tz)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class Schedule:
    """A period (minutes, checked here: ``ValueError`` unless it divides 60) and a zone (None:
    the system's local time). The worker runs its slots; the countdown and the pages show them.
    """

    period: int = DEFAULT_PERIOD
    tz: tzinfo | None = None

    def __post_init__(self) -> None:
        check_period(self.period)

    def next_slot(self, now: datetime) -> datetime:
        """The first slot strictly after ``now``, as local time."""
        instant = _floor_minute(now) + _MINUTE
        while not _is_slot(instant, self.period, self.tz):
            instant += _MINUTE
        return to_local(instant, self.tz)

    def current_slot(self, now: datetime) -> datetime:
        """The latest slot at or before ``now``, as local time (the one due now, if not yet
        run)."""
        instant = _floor_minute(now)
        while not _is_slot(instant, self.period, self.tz):
            instant -= _MINUTE
        return to_local(instant, self.tz)

    def seconds_to_next(self, now: datetime) -> float:
        return seconds_between(self.next_slot(now), now)
