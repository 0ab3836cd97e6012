"""The portal's compact header: title and countdown slot, then languages, Home, Help, Quit.

Two lines, no clock. ``#countdown`` shows ``App.sync_status`` (set with
``App.set_sync_status(text)`` by the sync worker).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.markup import escape
from textual.widget import Widget
from textual.widgets import Static

from tui.i18n import HEADER_ORDER, Translator


class PortalHeader(Widget):
    DEFAULT_CSS = """
    PortalHeader {
        dock: top;
        height: 2;
        background: $primary;
        color: $foreground;
    }
    PortalHeader Static {
        link-color: $foreground;
        link-background: transparent;
        link-style: underline;
    }
    PortalHeader Horizontal { height: 1; }
    PortalHeader #header-title {
        width: 1fr;
        text-style: bold;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PortalHeader #countdown { width: auto; padding: 0 1; text-wrap: nowrap; }
    PortalHeader #header-nav { width: auto; padding: 0 1; text-wrap: nowrap; }
    PortalHeader #header-user {
        width: 1fr;
        padding: 0 1;
        content-align: right middle;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, lang: str, user: str = "", home: bool = True,
                 id: str | None = "header") -> None:
        super().__init__(id=id)
        self.lang = lang
        self.user = user
        self.home = home
        self._sync_text = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Static(id="header-title")
            yield Static(id="countdown")
        with Horizontal(id="header-bottom"):
            yield Static(id="header-nav")
            yield Static(id="header-user")

    def on_mount(self) -> None:
        self.watch(self.app, "sync_status", self._show_sync_status, init=True)
        self.set_language(self.lang)

    def _show_sync_status(self, text: str) -> None:
        # Each second the countdown changes, not its width: repaint this Static alone, no
        # layout pass (which would also re-arrange the page below)
        same_width = cell_len(text) == cell_len(self._sync_text)
        self._sync_text = text
        self.query_one("#countdown", Static).update(text, layout=not same_width)

    def set_language(self, lang: str, user: str | None = None) -> None:
        self.lang = lang
        if user is not None:
            self.user = user
        t = Translator(lang)
        self.query_one("#header-title", Static).update(t("shell.title"))
        parts = []
        for code in HEADER_ORDER:
            style = "bold reverse " if code == lang else ""
            parts.append(f"[{style}@click=app.language('{code}')]{code.upper()}[/]")
        nav = " | ".join(parts)
        links = [("app.home", t("shell.home"))] if self.home else []
        links += [("app.help", t("shell.help")), ("app.quit", t("shell.quit"))]
        for action, label in links:
            nav += f"  [@click={action}]{escape(label)}[/]"
        self.query_one("#header-nav", Static).update(Content.from_markup(nav))
        self.query_one("#header-user", Static).update(self.user)
