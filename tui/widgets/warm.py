"""Drawing a hidden page ahead, so that showing it costs what showing it again costs.

The first show of a page built ahead lays out and draws each of its widgets (20 to 40 of
them): Textual sizes a widget when it first appears in the screen's layout and draws its
lines then, and keeps those lines while the widget keeps its size. ``warm(area, page)`` does
that work while nobody waits for it: it lays ``page`` out as if it were shown in ``area`` in
place of the page on show, in a compositor of its own (the screen's is not touched, nothing
is painted), gives each of its widgets the size it will have, and draws their lines into the
widgets' own caches. Then it composes the whole screen as it will be with the page shown,
without painting it (``_compose_ahead``): the frame's cutting of each line where the widgets
beside it begin and end, and the coding of each piece for the terminal, are kept with the
lines. When the shell then shows the page, its widgets find their size unchanged, their
lines drawn and cut: the frame composes them as a frame showing the page again does
(``bench/startup.py``: 2.5 ms of a page switch's 17).

It works with Textual's private layout pieces (``Compositor``, ``Widget._size_updated``,
the screen's ``_compositor``), the same calls the screen makes when it lays itself out
(``Screen._refresh_layout``); a Textual version that changes them may change this (the
pinned version is in ``pyproject.toml``). Anything that goes wrong leaves the page as it was:
it is only drawn at its first show, as without warming.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

from textual import events
from textual._compositor import Compositor, CompositorUpdate
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget

from tui.widgets.page_area import taller_than
from tui.widgets.shown_events import reflow


@contextlib.contextmanager
def _shown_instead(area: Widget, page: Widget, scrollbar: bool) -> Iterator[None]:
    """``page`` displayed and every other child of ``area`` hidden, without a refresh (the
    rules set back on the way out, the area's cached arrangement dropped on both ways);
    ``scrollbar``: with the area's vertical scrollbar shown, as ``PageArea.make_room_for``
    shows it for a page taller than the area."""
    inline = [(child, child.styles.inline.get_rule("display", None)) for child in area.children]
    shown = area.show_vertical_scrollbar
    try:
        for child, _rule in inline:
            child.styles.inline.set_rule("display", "block" if child is page else "none")
        area.set_reactive(Widget.show_vertical_scrollbar, scrollbar)
        area._clear_arrangement_cache()
        yield
    finally:
        for child, rule in inline:
            child.styles.inline.set_rule("display", rule)
        area.set_reactive(Widget.show_vertical_scrollbar, shown)
        area._clear_arrangement_cache()


SIZED = "sized"
"""``warm``'s answer when some of the page's widgets got a new size: each is sent its
``Resize``, as the screen sends it (a ``FittedTable`` fits its columns to its width then), and
the page is to be drawn at a later turn, once they have handled it."""


def warm(area: Widget, page: Widget, resize: bool = True) -> bool | str:
    """Lay out and draw ``page`` as ``area`` would show it — a hidden page, or the page on
    show before the screen paints it (``PortalScreen._unpainted``): True when drawn,
    ``SIZED`` when to be warmed again (above; with ``resize`` False, drawn at the sizes they
    have then, without another turn), False when it cannot be now. A failure is
    logged and leaves the page to be drawn when shown (never ends the session)."""
    try:
        return _warm(area, page, resize)
    except Exception:
        area.log.error(f"drawing {page!r} ahead failed:\n{traceback.format_exc()}")
        return False


def _warm(area: Widget, page: Widget, resize: bool) -> bool | str:
    screen = area.screen
    size = area.outer_size
    if page.parent is not area or not size or not screen.is_current:
        return False
    for scrollbar in (False, True):  # laid out again, narrower, when taller than the area
        compositor = Compositor()
        with _shown_instead(area, page, scrollbar):
            reflow(compositor, area, size)
            full_map = compositor.full_map
            visible = compositor.visible_widgets
        if scrollbar or page not in full_map or not taller_than(area, full_map[page].region.height):
            break
    mine = {
        widget: geometry
        for widget, geometry in full_map.items()
        if widget is page or page in widget.ancestors
    }
    resized = False
    for widget, (region, _order, _clip, virtual_size, container_size, *_rest) in mine.items():
        if widget._size_updated(region.size, virtual_size, container_size, layout=False):
            widget.post_message(events.Resize(region.size, virtual_size, container_size))
            resized = True
    if resized and resize:
        return SIZED
    real = screen._compositor
    screen._compositor = compositor  # the widgets find their regions in it while they draw
    try:
        for widget, (region, clip) in visible.items():
            if widget not in mine:
                continue
            x, y, width, height = region.intersection(clip)
            if width and height:
                widget.render_lines(Region(x - region.x, y - region.y, width, height))
    finally:
        screen._compositor = real
    _compose_ahead(screen, area, page, scrollbar)
    return True


def _compose_ahead(screen: Screen[object], area: Widget, page: Widget, scrollbar: bool) -> None:
    """The frame's own work on the page's lines, done ahead: the screen composed as it will
    be with ``page`` shown, and written out (not to the terminal). Each line a widget drew is
    cut where the widgets beside it begin and end (``Strip.divide``) and each piece coded for
    the terminal (``Strip.render``); both are kept with the line, so the frame that first
    shows the page finds them done, as a frame showing it again does."""
    compositor = Compositor()
    with _shown_instead(area, page, scrollbar):
        reflow(compositor, screen, screen.outer_size)
        compositor.visible_widgets  # noqa: B018 - worked out while the page is displayed
    real = screen._compositor
    screen._compositor = compositor
    try:
        update = compositor.render_update(full=True, screen_stack=screen.app._background_screens)
        if isinstance(update, CompositorUpdate):
            update.render_segments(screen.app.console)
    finally:
        screen._compositor = real
