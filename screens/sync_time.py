"""The time the pages stamp their changes with and check certificates against.

It is the app's clock, the one its countdown and the synchronisation worker use
(``app.back_office``; tests give the app a ``FakeClock``): registrations, channel changes and
deletions are dated with ``sync_time.now(self)``. When the next synchronisation happens is the
back office's to say too (``app.back_office.next_slot()``, ``screens.apercu.next_slot``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tui.context import portal_app

if TYPE_CHECKING:
    from textual.dom import DOMNode


def now(node: DOMNode) -> datetime:
    """Server local time, naive, by the clock of ``node``'s app."""
    return portal_app(node).back_office.local_now()


def instant(node: DOMNode) -> datetime:
    """The current instant, aware (certificate validity), by the clock of ``node``'s app."""
    return portal_app(node).back_office.clock.now()
