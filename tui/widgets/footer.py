"""The footer: every key of the screen, on two lines when the terminal is narrow (< 100).

One widget drawing every key itself, instead of Textual's ``Footer`` (a widget per key, all
composed again whenever the keys change): a page switch then repaints one or two lines and
adds nothing to the screen's layout pass (``bench/startup.py``).

The keys are the screen's active bindings that ``show``, one per action (the first key bound
to it), in columns of equal width, the command palette's key at the right of the first line.
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


class FooterKey(NamedTuple):
    key: str  # the key to press (``App.simulate_key``)
    display: str  # how the key is shown ("f1", "^p")
    description: str
    enabled: bool


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
        return self.app.size.width < WIDE and len(self.keys) > 4

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
        area = max(0, width - edge)
        lines = 2 if self.has_class("-two-lines") else 1
        columns = max(1, math.ceil(len(self.keys) / lines))
        for index, key in enumerate(self.keys):
            y, column = divmod(index, columns)
            cells.append((y, area * column // columns, area * (column + 1) // columns, key))
        return cells

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        key_style = base + self.get_component_rich_style("portal-footer--key")
        text_style = base + self.get_component_rich_style("portal-footer--description")
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
