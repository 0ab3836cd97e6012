"""The yardstick for bench/startup.py: a minimal Textual app (Header, one Static, Footer).

``n`` changes the Static, so the bench can time a key press to the repaint.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static


class MinimalApp(App[None]):
    BINDINGS = [Binding("n", "next", "Next", id="next")]

    def __init__(self) -> None:
        super().__init__()
        self.presses = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Minimal ready", id="body")
        yield Footer()

    def action_next(self) -> None:
        self.presses += 1
        self.query_one("#body", Static).update(f"Pressed {self.presses} times")


if __name__ == "__main__":
    MinimalApp().run()
