"""The time the pages stamp their changes with, with a clock tests can replace.

Registrations, channel changes and deletions are dated with ``sync_time.now()`` (tests
monkeypatch ``now``). When the next synchronisation happens is the app's back office's to
say (``app.back_office.next_slot()``, ``screens.apercu.next_slot``), not this module's.
"""

from __future__ import annotations

from datetime import datetime

from store.clock import local_now


def now() -> datetime:
    """Server local time (replace in tests: ``monkeypatch.setattr(sync_time, "now", ...)``)."""
    return local_now()
