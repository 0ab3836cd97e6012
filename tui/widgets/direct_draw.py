"""Repaint a small widget's cells by writing them to the terminal at once, outside Textual's
compositor, when that is sure to show what Textual would show (the header's countdown).

Textual repaints a widget that changed through a chain: ``refresh()`` prompts the widget's
message pump, whose idle handler posts an update to the screen's pump, whose idle handler
resumes the screen's update timer, whose tick asks the compositor to cut the lines of every
widget under the dirty cells and writes the result. For the countdown that changes once a
second in an idle app, that chain was most of the app's CPU time while left alone (issue 18).
``draw_in_place`` does the last step only: it renders the widget's own lines (its styles, the
app's filters — 16 colours, the ANSI theme, ``NO_COLOR`` — and colour system, as Textual's
partial update does) and hands them to the driver's writer, the same queue and thread as
Textual's frames, so the order of what reaches the terminal holds; inside the synchronized
output brackets when Textual uses them, the cursor put back where Textual's last frame left
it. Textual's own lines for the widget are rendered again from the new text (its render
caches are cleared), so any later repaint by Textual draws the same cells.

It does so only when the widget's screen is the top screen (not under a dialog, whose dimmed
backdrop Textual draws from the screen below), no layout is pending, and nothing is in front
of any of the widget's cells (a toast, a drop-down's overlay, a tooltip); otherwise, or if
Textual's internals are not what this module expects, it returns False and the caller
refreshes the widget the usual way.
"""

from __future__ import annotations

import logging

from textual._ansi_sequences import SYNC_END, SYNC_START
from textual.geometry import Region
from textual.widget import Widget

log = logging.getLogger("expedito.tui")

_broken = False  # Textual's internals were not as expected once: never try again


def draw_in_place(widget: Widget) -> bool:
    """Write ``widget``'s cells to the terminal now, if that is safe; False: refresh it."""
    global _broken
    if _broken:
        return False
    try:
        return _draw(widget)
    except Exception:  # a newer Textual's internals: Textual's own repaint from now on
        _broken = True
        log.warning("the countdown's direct repaint is off", exc_info=True)
        return False


def _moved(x: int, y: int) -> str:
    return f"\x1b[{y + 1};{x + 1}H"


def _draw(widget: Widget) -> bool:
    app = widget.app
    driver = app._driver
    if (
        driver is None
        or app.is_headless
        or app.is_inline
        or app._batch_count
        or not app._running
        or app._exit
        or app._closed
        or not widget.is_mounted
        or widget._closing
        or widget._layout_required
        or widget._repaint_regions  # a repaint of Textual's own is pending: let it run
    ):
        return False
    screen = widget.screen
    if screen is not app.screen or not screen.is_current:
        return False  # under a dialog (Textual draws the dimmed backdrop) or hidden
    if screen._layout_required or screen._scroll_required or screen._recompose_required:
        return False
    compositor = screen._compositor
    if compositor.size != app.size:
        return False  # a resize not laid out yet
    geometry = compositor.visible_widgets.get(widget)
    if geometry is None:
        return False
    region, clip = geometry
    if not clip.contains_region(region) or region.size != widget.outer_size:
        return False
    layers = compositor.layers_visible
    for y in range(region.y, region.bottom):
        for other, cropped, _region in layers[y]:  # front to back
            if other is widget:
                break
            if cropped.overlaps(region):
                return False  # something in front of some of its cells
        else:
            return False
    # Render its lines again from the new text (what Textual will draw from now on): what
    # ``refresh()`` clears, without asking the compositor for a repaint.
    widget._layout_cache.clear()  # its visual
    widget._set_dirty()
    widget._repaint_regions.clear()
    widget.clear_cached_dimensions()
    widget._rich_style_cache.clear()
    strips = widget.render_lines(Region(0, 0, region.width, region.height))
    if len(strips) != region.height or any(s.cell_length != region.width for s in strips):
        widget.refresh()
        return True  # Textual draws it
    console = app.console
    parts = [SYNC_START] if app._sync_available else []
    for y, strip in enumerate(strips, region.y):
        parts.append(_moved(region.x, y))
        parts.append(strip.render(console))
    parts.append(_moved(*app._previous_cursor_position))  # where Textual's frame left it
    if app._sync_available:
        parts.append(SYNC_END)
    driver.write("".join(parts))
    driver.flush()
    return True
