"""The time the pages stamp their changes with and check certificates against.

It is the app's clock, the one its countdown and the synchronisation worker use
(``app.back_office``; tests give the app a ``FakeClock``): registrations, channel changes and
deletions are dated with ``sync_time.now(self)``. When the next synchronisation happens is the
back office's to say too (``app.back_office.next_slot()``, ``screens.apercu.next_slot``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from store.clock import local_now

if TYPE_CHECKING:
    from textual.dom import DOMNode


def now(node: DOMNode) -> datetime:
    """Server local time, naive, by the clock of ``node``'s app (the real one without)."""
    office = getattr(node.app, "back_office", None)
    return office.local_now() if office is not None else local_now()


def instant(node: DOMNode) -> datetime:
    """The current instant, aware (certificate validity), by the clock of ``node``'s app."""
    office = getattr(node.app, "back_office", None)
    return office.clock.now() if office is not None else datetime.now(UTC)
