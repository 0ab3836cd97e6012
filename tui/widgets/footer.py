"""The footer: every key of the screen, on two lines when the terminal is narrow (< 100)."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.widgets import Footer

WIDE = 100


class PortalFooter(Footer):
    DEFAULT_CSS = """
    PortalFooter.-two-lines { height: 2; layout: grid; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        yield from super().compose()
        columns = self.styles.grid_size_columns
        two_lines = self.app.size.width < WIDE and columns > 4
        self.set_class(two_lines, "-two-lines")
        if two_lines:
            self.styles.grid_size_columns = math.ceil(columns / 2)

    def on_resize(self) -> None:
        two_lines = self.app.size.width < WIDE
        if two_lines != self.has_class("-two-lines"):
            self.call_later(self.recompose)
