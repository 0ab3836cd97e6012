"""A small keyboard file browser: arrows move, Enter opens a folder or picks a file,
Backspace goes up a folder, Escape cancels. Returns the chosen ``Path`` (or None)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static

from tui.i18n import Translator
from tui.i18n.bindings import localize_tree
from tui.widgets.footer import PortalFooter


class FilePicker(ModalScreen[Path | None]):
    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > Vertical {
        width: 76; max-width: 100%; height: 1fr; max-height: 20;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    FilePicker #picker-title { text-style: bold; color: $primary; }
    FilePicker #picker-folder { color: $text-muted; }
    FilePicker DirectoryTree { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="dialog.cancel"),
        Binding("backspace", "parent", "Dossier parent", id="filepick.parent"),
    ]
    AUTO_FOCUS = "DirectoryTree"

    def __init__(self, title: str, start: Path, lang: str) -> None:
        super().__init__()
        self.title_text = title
        self.folder = start if start.is_dir() else Path.home()
        self.t = Translator(lang)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="picker-title", markup=False)
            yield Static(str(self.folder), id="picker-folder", markup=False)
            yield DirectoryTree(self.folder, id="picker-tree")
            yield Static(self.t("filepick.hint"), classes="hint", markup=False)
        yield PortalFooter()

    def on_mount(self) -> None:
        localize_tree(self, self.t.lang)
        self.refresh_bindings()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def action_parent(self) -> None:
        parent = self.folder.parent
        if parent != self.folder:
            self.folder = parent
            self.query_one("#picker-folder", Static).update(str(parent))
            tree = self.query_one(DirectoryTree)
            tree.path = parent
            tree.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
