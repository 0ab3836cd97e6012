"""The column right of the sidebar where the pages are shown."""

from __future__ import annotations

from typing import Self

from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widget import Widget


def _offers_focus(node: Widget) -> bool:
    """Whether a widget shown under ``node`` can take the keyboard."""
    for child in node.displayed_children:
        if child.disabled or not child.visible:
            continue
        if child.allow_focus() or (child.allow_focus_children() and _offers_focus(child)):
            return True
    return False


def taller_than(area: Widget, height: int) -> bool:
    """Whether a page ``height`` lines high (0: not laid out yet) needs ``area``'s scrollbar."""
    return bool(height) and height > area.size.height


class KeepsItsLines(Widget):
    """A container whose own lines (its background, its padding) do not change when what it
    holds is laid out again: the page area and the pages. Textual draws a widget's lines
    again at every ``refresh(layout=True)`` — for these, at every page shown or hidden in
    them (18 lines each, 1-3 ms a switch: ``bench/startup.py``). A new size draws them again
    (``Widget._size_updated``), and so does a refresh that asks for no layout (a new theme)."""

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if layout and not regions and not recompose:
            repaint = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class PageArea(KeepsItsLines, VerticalScroll):
    """Scrolls the page on show. It takes the keyboard itself only when the page has nothing
    that does (Accueil, Informations…) or is taller than the area, so Tab from the sidebar
    lands on the page's first field or button, and a page that does not fit can still be
    scrolled with the arrows (its fields are the next Tab)."""

    def allow_focus(self) -> bool:
        return self.max_scroll_y > 0 or not _offers_focus(self)

    def make_room_for(self, page: Widget) -> None:
        """Before ``page`` is shown: keep the scrollbar's column for a page known to be taller
        than the area (laid out before, ahead or at an earlier show), so that the page is laid
        out once, at the width it is drawn at. Otherwise the area showed the scrollbar only
        after laying the page out at its full width, then laid it out again, narrower, its
        texts wrapped anew (two or three passes for *Informations* and *Routing Module*)."""
        tall = taller_than(self, page.outer_size.height)
        # Set without ``styles.overflow_y``'s repaint: the area's own lines (its background)
        # are the same with or without the scrollbar's column, a widget of its own; a layout
        # is all it takes (18 lines drawn again at each switch between a tall page and not).
        if self.styles.inline.set_rule("overflow_y", "scroll" if tall else "auto"):
            self.refresh(layout=True)
        # Now, not after the layout (Textual sets it from the page's height once laid out):
        # the layout gives the page the width left beside it.
        self.show_vertical_scrollbar = tall

    def focus_page(self) -> None:
        """Give the keyboard to the page: its first field or button, else the area."""
        if self.allow_focus():
            self.focus()
            return
        chain = self.screen.focus_chain
        first = next((w for w in chain if self in w.ancestors), None)
        if first is not None:
            first.focus()
