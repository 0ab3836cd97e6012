"""The :00/:30 schedule in local time, including both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.schedule import (
    Schedule,
    check_period,
    current_slot,
    next_slot,
    seconds_between,
    slot_key,
)
from tests.support.clock import BXL


def local(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BXL, fold=fold)


def wall(moment: datetime) -> tuple[str, str]:
    moment = moment.astimezone(BXL)
    return moment.strftime("%Y-%m-%d %H:%M:%S"), moment.strftime("%Z")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 11, 28, 14, 29, 59), ("2026-11-28 14:30:00", "CET")),
        (local(2026, 11, 28, 14, 30, 0), ("2026-11-28 15:00:00", "CET")),
        (local(2026, 11, 28, 14, 30, 1), ("2026-11-28 15:00:00", "CET")),
        (local(2026, 11, 28, 23, 59, 59), ("2026-11-29 00:00:00", "CET")),
        (local(2026, 12, 31, 23, 59, 59), ("2027-01-01 00:00:00", "CET")),
        (local(2026, 7, 1, 0, 0, 0), ("2026-07-01 00:30:00", "CEST")),
    ],
)
def test_next_slot(now: datetime, expected: tuple[str, str]) -> None:
    assert wall(next_slot(now, tz=BXL)) == expected


def test_seconds_to_the_next_slot() -> None:
    now = local(2026, 11, 28, 14, 17, 26)
    assert seconds_between(next_slot(now, tz=BXL), now) == 12 * 60 + 34


def test_spring_forward_skips_the_missing_hour() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:00 and 02:30 do not exist.
    assert wall(next_slot(local(2026, 3, 29, 1, 29, 59), tz=BXL)) == ("2026-03-29 01:30:00", "CET")
    before = local(2026, 3, 29, 1, 59, 59)
    after = next_slot(before, tz=BXL)
    assert wall(after) == ("2026-03-29 03:00:00", "CEST")
    assert seconds_between(after, before) == 1
    assert wall(next_slot(after, tz=BXL)) == ("2026-03-29 03:30:00", "CEST")
    assert wall(current_slot(before, tz=BXL)) == ("2026-03-29 01:30:00", "CET")


def test_fall_back_runs_the_repeated_slots_twice() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:00 and 02:30 happen twice.
    moment = local(2026, 10, 25, 1, 45)
    seen = []
    for _ in range(6):
        moment = next_slot(moment, tz=BXL)
        seen.append(wall(moment))
    assert seen == [
        ("2026-10-25 02:00:00", "CEST"),
        ("2026-10-25 02:30:00", "CEST"),
        ("2026-10-25 02:00:00", "CET"),
        ("2026-10-25 02:30:00", "CET"),
        ("2026-10-25 03:00:00", "CET"),
        ("2026-10-25 03:30:00", "CET"),
    ]
    first = local(2026, 10, 25, 2, 0, fold=0)
    second = local(2026, 10, 25, 2, 0, fold=1)
    assert slot_key(first) != slot_key(second)
    assert slot_key(second) - slot_key(first) == timedelta(hours=1)
    # the worker's countdown uses real seconds, not wall-clock ones
    assert Schedule(tz=BXL).seconds_to_next(local(2026, 10, 25, 2, 45, fold=0)) == 15 * 60
    # 02:59:59 CEST: the next slot is the second 02:00, one second later
    last = local(2026, 10, 25, 2, 59, 59, fold=0)
    assert seconds_between(next_slot(last, tz=BXL), last) == 1


def test_current_slot_is_the_latest_not_after_now() -> None:
    assert wall(current_slot(local(2026, 11, 28, 14, 29, 59), tz=BXL))[0] == "2026-11-28 14:00:00"
    assert wall(current_slot(local(2026, 11, 28, 14, 30), tz=BXL))[0] == "2026-11-28 14:30:00"
    assert wall(current_slot(local(2026, 11, 29, 0, 0, 1), tz=BXL))[0] == "2026-11-29 00:00:00"


def test_other_periods_for_demos() -> None:
    assert wall(next_slot(local(2026, 11, 28, 14, 29, 59), 15, BXL))[0] == "2026-11-28 14:30:00"
    assert wall(next_slot(local(2026, 11, 28, 14, 30), 15, BXL))[0] == "2026-11-28 14:45:00"
    assert wall(next_slot(local(2026, 11, 28, 14, 30), 1, BXL))[0] == "2026-11-28 14:31:00"
    assert wall(next_slot(local(2026, 11, 28, 14, 30), 60, BXL))[0] == "2026-11-28 15:00:00"
    for bad in (0, 7, 45, 90, -30):
        with pytest.raises(ValueError):
            check_period(bad)
    with pytest.raises(ValueError):
        Schedule(period=25)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        next_slot(datetime(2026, 1, 1, 12, 0), tz=BXL)


def test_slot_key_is_naive_utc() -> None:
    assert slot_key(local(2026, 11, 28, 14, 30)) == datetime(2026, 11, 28, 13, 30)
    assert slot_key(datetime(2026, 11, 28, 13, 30, tzinfo=UTC)) == datetime(2026, 11, 28, 13, 30)
