"""When the next :00/:30 synchronisation happens, with a clock tests can replace.

A stand-in until the sync worker's schedule API reaches this branch: pages call
``sync_time.now()`` and ``next_sync()``; tests monkeypatch ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from store.clock import local_now

SLOT_MINUTES = 30


def now() -> datetime:
    """Server local time (replace in tests: ``monkeypatch.setattr(sync_time, "now", ...)``)."""
    return local_now()


def next_sync(moment: datetime) -> datetime:
    """The first :00 or :30 strictly after ``moment``."""
    start = moment.replace(second=0, microsecond=0)
    minutes = SLOT_MINUTES - start.minute % SLOT_MINUTES
    return start + timedelta(minutes=minutes)
