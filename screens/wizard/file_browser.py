"""A keyboard file browser: pick the SSH public key or the certificate file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static

from tui.i18n import Translator
from tui.widgets.footer import PortalFooter


class CredentialTree(DirectoryTree):
    """A ``DirectoryTree`` that hides dotfiles unless ``show_hidden`` (``~/.ssh`` is one)."""

    show_hidden: reactive[bool] = reactive(False, init=False)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if self.show_hidden or not p.name.startswith(".")]

    def watch_show_hidden(self) -> None:
        self.reload()


class FileBrowser(ModalScreen[Path | None]):
    """Arrows move, Enter opens a folder or picks a file; ``h`` hidden files, ``u`` up."""

    DEFAULT_CSS = """
    FileBrowser { align: center middle; }
    FileBrowser > Vertical {
        width: 76; max-width: 100%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    FileBrowser #browser-title { text-style: bold; }
    FileBrowser #browser-path { color: $text-muted; }
    FileBrowser CredentialTree { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Annuler", id="browser.cancel"),
        Binding("h", "toggle_hidden", "Fichiers cachés", id="browser.hidden"),
        Binding("u,backspace", "parent", "Dossier parent", id="browser.parent"),
    ]
    AUTO_FOCUS = "CredentialTree"

    def __init__(self, title: str, t: Translator, start: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.t = t
        self.start = start or Path.home()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="browser-title", markup=False)
            yield Static(self.t("browser.help"), markup=False)
            yield Static(str(self.start), id="browser-path", markup=False)
            yield CredentialTree(self.start, id="browser-tree")
        yield PortalFooter()

    def on_mount(self) -> None:
        self.refresh_bindings()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_toggle_hidden(self) -> None:
        tree = self.query_one(CredentialTree)
        tree.show_hidden = not tree.show_hidden

    def action_parent(self) -> None:
        tree = self.query_one(CredentialTree)
        current = Path(tree.path)
        if current.parent != current:
            tree.path = current.parent
            self.query_one("#browser-path", Static).update(str(current.parent))
