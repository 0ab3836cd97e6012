"""A one-line button for the login screen, the app's first paint.

Textual's ``Button`` brings 7 KB of CSS (every variant and style), which Textual parses when the
first button mounts: 40 % of the CSS of the login screen, and a measurable part of the start-up
that ``bench/startup.py`` compares with a minimal app. This one looks like a compact primary
``Button`` and behaves like one for the keyboard (Enter or space) and the mouse (a click); the
pages, built after login, keep Textual's ``Button``.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static


class KeyButton(Static, can_focus=True):
    DEFAULT_CSS = """
    KeyButton {
        width: auto;
        min-width: 16;
        height: 1;
        text-align: center;
        text-style: bold;
        color: $button-color-foreground;
        background: $primary;
        &:focus { text-style: $button-focus-text-style; background-tint: $foreground 5%; }
        &:disabled { text-opacity: 0.6; }
        &:ansi { color: $primary; background: ansi_default; }
    }
    """
    BINDINGS = [Binding("enter,space", "press", "Valider", show=False, id="button.press")]

    class Pressed(Message):
        def __init__(self, button: KeyButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> KeyButton:
            return self.button

    def __init__(self, label: str = "", *, id: str | None = None) -> None:
        super().__init__(label, id=id, markup=False)

    @property
    def label(self) -> str:
        return str(self.content)

    @label.setter
    def label(self, text: str) -> None:
        self.update(text)

    def action_press(self) -> None:
        if not self.disabled:
            self.post_message(self.Pressed(self))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_press()
