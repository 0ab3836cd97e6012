"""The portal's long-lived objects and Python's cycle collector.

Python runs a full collection every so many allocations, and it scans every object tracked:
with the portal's pages built and drawn ahead (some 100,000 objects), one took 50–100 ms, and
a page switch it fell in took that much longer (traced with ``bench/startup.py``'s walk: a
repaint of 92–108 ms instead of 10). Once the pages are ready, what exists then lives as long
as they do: ``settled`` moves it out of the collector's sight (``gc.freeze``), so a collection
scans only what came since. Before pages are dropped (a language, role or sender change, a
form finished), ``unsettled`` gives everything back to the collector, or the dropped pages'
reference cycles would never be freed.

The youngest generation is collected every so many allocations too (700 by default): a page
switch allocates thousands of objects, most of which die young (the pieces of the frame), and
the frame of a page switch then ran 5-10 of those collections and one of the middle
generation, 1-3 ms of it. While settled, the youngest generation is collected every ``YOUNG``
allocations, the middle one every ``MIDDLE`` of those: once in about eight page switches
(2-3 ms), since what a frame leaves behind is mostly freed by its reference count at once.
"""

from __future__ import annotations

import gc

YOUNG = 20_000
MIDDLE = 20
ENABLED = True
"""The test suite turns it off: its processes hold many apps' objects, not one session's."""
_frozen = False
_thresholds = gc.get_threshold()


def settled() -> None:
    """Everything alive now stays: collected once, then out of the cycle collector's sight
    (``gc.freeze``). Nothing more until ``unsettled``: later calls return at once."""
    global _frozen
    if _frozen or not ENABLED:
        return
    gc.collect()  # what is garbage already (a form dropped, the login's screens) goes first
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, _thresholds[2])
    _frozen = True


def unsettled() -> None:
    """Some of what was settled is about to go: back in the collector's sight."""
    global _frozen
    gc.unfreeze()
    if _frozen:
        gc.set_threshold(*_thresholds)
    _frozen = False
