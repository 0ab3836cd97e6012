"""The portal's long-lived objects and Python's cycle collector.

Python runs a full collection every so many allocations, and it scans every object tracked:
with the portal's pages built and drawn ahead (some 100,000 objects), one took 50–100 ms, and
a page switch it fell in took that much longer (traced with ``bench/startup.py``'s walk: a
repaint of 92–108 ms instead of 10). Once the pages are ready, what exists then lives as long
as they do: ``settled`` moves it out of the collector's sight (``gc.freeze``), so a collection
scans only what came since. Before pages are dropped (a language, role or sender change, a
form finished), ``unsettled`` gives everything back to the collector, or the dropped pages'
reference cycles would never be freed.
"""

from __future__ import annotations

import gc

ENABLED = True
"""The test suite turns it off: its processes hold many apps' objects, not one session's."""
_frozen = False


def settled() -> None:
    """Everything alive now stays: collected once, then out of the cycle collector's sight
    (``gc.freeze``). Nothing more until ``unsettled``: later calls return at once."""
    global _frozen
    if _frozen or not ENABLED:
        return
    gc.collect()  # what is garbage already (a form dropped, the login's screens) goes first
    gc.freeze()
    _frozen = True


def unsettled() -> None:
    """Some of what was settled is about to go: back in the collector's sight."""
    global _frozen
    gc.unfreeze()
    _frozen = False
