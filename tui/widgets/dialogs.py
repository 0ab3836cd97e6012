"""Small modal dialogs: confirm (Quit) and help (F1)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from tui.widgets.footer import PortalFooter


def _localize(screen: Screen[Any]) -> None:
    screen.refresh_bindings()


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; ``dismiss(True)`` when confirmed."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 60; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    ConfirmDialog #dialog-question { margin-bottom: 1; }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; }
    ConfirmDialog Button { margin-left: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="dialog.cancel"),
        Binding("y,o,j", "confirm", "Oui", id="dialog.confirm", show=False),
        Binding("n", "cancel", "Non", id="dialog.no", show=False),
    ]
    AUTO_FOCUS = "#dialog-no"

    def __init__(self, question: str, yes: str, no: str) -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="dialog-question")
            with Horizontal():
                yield Button(self.yes, id="dialog-yes", variant="error")
                yield Button(self.no, id="dialog-no", variant="primary")
        yield PortalFooter()

    def on_mount(self) -> None:
        _localize(self)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "dialog-yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class HelpDialog(ModalScreen[None]):
    """Help for the current page (F1), with the keys."""

    DEFAULT_CSS = """
    HelpDialog { align: center middle; }
    HelpDialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpDialog #help-title { text-style: bold; margin-bottom: 1; }
    HelpDialog VerticalScroll { height: auto; max-height: 18; }
    """
    BINDINGS = [
        Binding("escape,f1", "close", "Fermer", id="dialog.close"),
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.help_title, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.help_title, id="help-title", markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(self.body, markup=False)
        yield PortalFooter()

    def on_mount(self) -> None:
        _localize(self)

    def action_close(self) -> None:
        self.dismiss(None)
