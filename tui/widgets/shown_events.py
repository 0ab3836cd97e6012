"""The events of a page switch: only to the widgets that do something with them.

When a page is shown, Textual's screen layout (``Screen._refresh_layout``) posts ``Show`` and
``Resize`` to each of its widgets, and ``Hide`` to each widget of the page left: some 75
messages, each one handled in its widget's own task, for a page of 25 widgets. Most do
nothing with them: a ``Static`` has no handler, and a page drawn ahead (``tui.widgets.warm``)
has its widgets sized already. A ``DataTable`` did something costly with the ``Resize`` it did
not need: it dropped the lines it had drawn ahead. Traced on ``bench/startup.py``'s walk, these
messages were about a fifth of the main thread's time per page switch.

``refresh_layout`` is Textual's (8.2.8), posting

* ``Resize`` to a widget whose size changed (``Widget._size_updated``: laid out for the first
  time, or at another size), not to every widget shown. A ``ScrollView`` (a table, a list)
  answers that its size changed at every layout when it shows a scrollbar (it compares the
  container size it keeps, scrollbars in, with the layout's, without): its own size is
  compared instead — on that Resize a table drew its lines again, 10 ms for *Rechercher
  utilisateurs*' results;
* ``Show`` and ``Hide`` to the widgets that handle them (a handler of their class, or one
  Textual's ``Widget`` has for a scrollbar shown or the focus), not to the others;

and keeping the map of every widget the layout has just made: Textual's marked it out of date
when a page about to be shown was refreshed, and the first ``Widget.region`` asked in the
frame laid the whole screen out a second time (0.5-1 ms a switch).

The portal screen uses it (``tui.shell.PortalScreen._refresh_layout``); a Textual version that
changes ``Screen._refresh_layout`` has to be read again with it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from textual import events
from textual._compositor import Compositor, ReflowResult
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget


@cache
def _class_handles(cls: type[Widget], name: str) -> bool:
    """Whether ``cls`` (or a class it derives from, other than ``Widget`` and what ``Widget``
    derives from) handles the event whose handler is ``name`` ("on_show"): a method, or a
    handler decorated with ``@on``."""
    for klass in cls.__mro__:
        if klass is Widget:
            return False
        if name in vars(klass) or f"_{name}" in vars(klass):
            return True
        decorated = vars(klass).get("_decorated_handlers", {})
        if any(message.handler_name == name for message in decorated):
            return True
    return False


def _wants(widget: Widget, event: type[events.Event]) -> bool:
    """Whether ``widget`` does something with a ``Show`` or ``Hide``: its class handles it,
    or Textual's ``Widget`` does (it passes both on to the scrollbars shown, and blurs a
    focused widget hidden)."""
    return (
        _class_handles(type(widget), event.handler_name)
        or widget.show_vertical_scrollbar
        or widget.show_horizontal_scrollbar
        or (event is events.Hide and widget.has_focus)
    )


def reflow(compositor: Compositor, root: Widget, size: Size) -> ReflowResult:
    """``Compositor.reflow``, keeping the map of every widget it has just made: Textual leaves
    the map marked out of date when ``update_widgets`` marked it so before (a widget about to
    be shown was dirty), and the first ``Widget.region`` asked then lays ``root`` out again."""
    result = compositor.reflow(root, size)
    compositor._full_map_invalidated = False
    return result


def refresh_layout(screen: Screen[Any], size: Size | None = None, scroll: bool = False) -> None:
    """``Screen._refresh_layout`` of Textual 8.2.8, with fewer events (module docstring)."""
    app = screen.app
    size = screen.outer_size if size is None else size
    if app.is_inline:
        size = size.with_height(app._get_inline_height())
    if not size:
        return
    compositor = screen._compositor
    compositor.update_widgets(screen._dirty_widgets)
    screen._update_timer.pause()

    try:
        if scroll and not screen._layout_widgets:
            exposed_widgets = compositor.reflow_visible(screen, size)
            if exposed_widgets:
                for widget, (region, _, _, virtual_size, container_size, _, _) in compositor.layers:
                    if widget in exposed_widgets and widget._size_updated(
                        region.size, virtual_size, container_size, layout=False
                    ):
                        widget.post_message(
                            events.Resize(region.size, virtual_size, container_size)
                        )
        else:
            hidden, shown, resized = reflow(compositor, screen, size)
            screen._layout_widgets.clear()
            for widget in hidden:
                if _wants(widget, events.Hide):
                    widget.post_message(events.Hide())
            for widget, (region, _, _, virtual_size, container_size, _, _) in compositor.layers:
                before = widget._size
                changed = widget._size_updated(region.size, virtual_size, container_size)
                if isinstance(widget, ScrollView):  # its answer compares the container size it
                    changed = widget._size != before  # keeps (scrollbars in) with the layout's
                if widget in resized or (changed and widget in shown):
                    widget.post_message(events.Resize(region.size, virtual_size, container_size))
            for widget in shown:
                if _wants(widget, events.Show):
                    widget.post_message(events.Show())
    except Exception as error:
        app._handle_exception(error)
        return

    if screen.is_current:
        if app._batch_count:
            screen.call_later(screen._compositor_refresh)
        else:
            screen._compositor_refresh()

    if app._dom_ready:
        screen.screen_layout_refresh_signal.publish(screen.screen)
    else:
        app.post_message(events.Ready())
        app._dom_ready = True
