"""The footer: every key of the screen, on two lines when the terminal is narrow (< 100) or one
line cannot hold them.

One widget drawing every key itself, instead of Textual's ``Footer`` (a widget per key, all
composed again whenever the keys change): a page switch then repaints one or two lines and
adds nothing to the screen's layout pass (``bench/startup.py``).

The keys are the screen's active bindings that ``show``, one per action (the first key bound
to it), in columns as wide as their labels (each line on its own where columns do not fit:
see ``layout``), the command palette's key at the right of the first line.
A disabled binding is dimmed; a click on a key presses it. Under a dialog the footer is empty.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from tui.i18n import DEFAULT_LANGUAGE
from tui.i18n.bindings import describe

WIDE = 100
PALETTE_EDGE = "▏"
DRAWN_KEPT = 64  # lines of keys kept drawn (render_line): a few per page with keys of its own


class FooterKey(NamedTuple):
    key: str  # the key to press (``App.simulate_key``)
    display: str  # how the key is shown ("f1", "^p")
    description: str
    enabled: bool


def _spread(sizes: list[int], room: int) -> list[int]:
    """``sizes`` widened to fill ``room`` (the space left shared out evenly), or, when they do
    not fit, the widest narrowed first until they do (their labels then cut at the end)."""
    total = sum(sizes)
    if total <= room:
        extra, rest = divmod(room - total, max(1, len(sizes)))
        return [size + extra + (1 if i < rest else 0) for i, size in enumerate(sizes)]
    cap = max(sizes, default=0)
    while cap > 1 and sum(min(size, cap) for size in sizes) > room:
        cap -= 1
    return [min(size, cap) for size in sizes]


def _place(line: int, widths: list[int], first: int) -> list[tuple[int, int, int, int]]:
    cells, x = [], 0
    for offset, w in enumerate(widths):
        cells.append((line, x, x + w, first + offset))
        x += w
    return cells


def layout(sizes: list[int], rooms: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """Where the keys go: (line, first column, end column, index) for keys of ``sizes`` cells
    (label and the space after it), on ``len(rooms)`` lines of ``rooms`` cells each.

    In columns when every column's widest label fits; else each line laid out on its own,
    split where both lines fit (as near the middle as can be); only when no split fits are
    labels cut, the longest first."""
    if not sizes:
        return []
    if len(rooms) == 1:
        return _place(0, _spread(sizes, rooms[0]), 0)
    first, second = rooms[0], rooms[1]
    columns = math.ceil(len(sizes) / 2)
    column_sizes = [
        max(sizes[c], sizes[c + columns] if c + columns < len(sizes) else 0) for c in range(columns)
    ]
    if sum(column_sizes) <= first:
        widths = _spread(column_sizes, first)
        return _place(0, widths, 0) + _place(1, widths[: len(sizes) - columns], columns)
    splits = sorted(range(1, len(sizes)), key=lambda k: (abs(k - columns), -k))
    fitting = [k for k in splits if sum(sizes[:k]) <= first and sum(sizes[k:]) <= second]
    k = fitting[0] if fitting else columns
    return _place(0, _spread(sizes[:k], first), 0) + _place(1, _spread(sizes[k:], second), k)


class PortalFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"portal-footer--key", "portal-footer--description", "portal-footer--edge"}
    DEFAULT_CSS = """
    PortalFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    PortalFooter.-two-lines { height: 2; }
    PortalFooter > .portal-footer--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    PortalFooter > .portal-footer--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    PortalFooter > .portal-footer--edge { color: $foreground 20%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.keys: tuple[FooterKey, ...] = ()
        self.palette: FooterKey | None = None
        self._drawn: dict[tuple[object, ...], Strip] = {}  # render_line's

    # --- which keys ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        app = self.app
        lang = str(getattr(app, "lang", DEFAULT_LANGUAGE))
        # Under a dialog the screen's keys do not work: none are shown (the dialog has its own).
        active = screen.active_bindings if app.screen is screen else {}
        keys: dict[str, FooterKey] = {}  # one per action, the first key bound to it
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in keys:
                keys[binding.action] = FooterKey(
                    binding.key, app.get_key_display(binding), describe(binding, lang), enabled
                )
        palette = None
        for _node, binding, enabled, _tooltip in active.values():
            # The palette's key, wherever a keymap put it (the first of its keys).
            if app.ENABLE_COMMAND_PALETTE and binding.action == "command_palette":
                palette = FooterKey(
                    binding.key, app.get_key_display(binding), describe(binding, lang), enabled
                )
                keys.pop(binding.action, None)
                break
        shown = (tuple(keys.values()), palette)
        if shown != (self.keys, self.palette):
            self.keys, self.palette = shown
            self._fit()
            self.refresh()

    # --- layout -------------------------------------------------------------------------------

    @property
    def two_lines(self) -> bool:
        """Below 100 columns with more than four keys, or wherever one line cannot hold
        every label whole."""
        width = self.app.size.width
        if width < WIDE and len(self.keys) > 4:
            return True
        edge = (
            len(PALETTE_EDGE) + cell_len(f"{self.palette.display} {self.palette.description} ")
            if self.palette is not None
            else 0
        )
        return sum(cell_len(f"{k.display} {k.description}") + 1 for k in self.keys) > width - edge

    def _fit(self) -> None:
        if self.app.screen is not self.screen:
            return  # under a dialog: the same height, so the screen below does not move
        two = self.two_lines
        if two != self.has_class("-two-lines"):
            self.set_class(two, "-two-lines")  # a new height: one layout pass, rarely

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    # --- drawing ------------------------------------------------------------------------------

    def _cells(self) -> list[tuple[int, int, int, FooterKey]]:
        """(line, first column, end column, key) of every key shown."""
        width = self.size.width
        edge = 0
        cells: list[tuple[int, int, int, FooterKey]] = []
        if self.palette is not None:
            edge = len(PALETTE_EDGE) + cell_len(
                f"{self.palette.display} {self.palette.description} "
            )
            cells.append((0, width - edge, width, self.palette))
        lines = 2 if self.has_class("-two-lines") else 1
        sizes = [cell_len(f"{key.display} {key.description}") + 1 for key in self.keys]
        for y, x0, x1, index in layout(sizes, (max(0, width - edge), width)[:lines]):
            cells.append((y, x0, x1, self.keys[index]))
        return cells

    def render_line(self, y: int) -> Strip:
        """A line of keys; kept for the keys, the width and the styles it was drawn for: the
        same few sets come back as the pages are gone through (each drawn anew cost 0.3-0.6
        ms a line at each page switch that changed the keys)."""
        base = self.rich_style
        key_style = base + self.get_component_rich_style("portal-footer--key")
        text_style = base + self.get_component_rich_style("portal-footer--description")
        width, two = self.size.width, self.has_class("-two-lines")
        drawn = (y, width, two, self.keys, self.palette, base, key_style, text_style)
        if (strip := self._drawn.get(drawn)) is None:
            if len(self._drawn) >= DRAWN_KEPT:
                self._drawn.clear()
            strip = self._drawn[drawn] = self._draw_line(y, base, key_style, text_style)
        return strip

    def _draw_line(self, y: int, base: Style, key_style: Style, text_style: Style) -> Strip:
        segments: list[Segment] = []
        x = 0
        for line, x0, x1, key in sorted(self._cells(), key=lambda cell: cell[1]):
            if line != y:
                continue
            if x0 > x:
                segments.append(Segment(" " * (x0 - x), base))
            dim = Style() if key.enabled else Style(dim=True)
            label = Strip(
                [
                    Segment(key.display, key_style + dim),
                    Segment(f" {key.description}", text_style + dim),
                ]
            )
            if key is self.palette:
                edge = Segment(
                    PALETTE_EDGE, base + self.get_component_rich_style("portal-footer--edge")
                )
                room = x1 - x0 - len(PALETTE_EDGE)
                segments.append(edge)
                segments.extend(label.crop(0, room).adjust_cell_length(room, base))
            else:  # at least one space before the next key
                segments.extend(label.crop(0, x1 - x0 - 1).adjust_cell_length(x1 - x0, base))
            x = x1
        return Strip(segments).adjust_cell_length(self.size.width, base)

    def on_click(self, event: events.Click) -> None:
        for y, x0, x1, key in self._cells():
            if event.y == y and x0 <= event.x < x1:
                if key.enabled:
                    self.app.simulate_key(key.key)
                else:
                    self.app.bell()
                return
