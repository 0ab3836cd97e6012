"""The portal's compact header: title and countdown slot, then languages, Home, Help, Quit.

Two lines, no clock. ``#countdown`` shows ``App.sync_status`` (set each second by the app from
the sync worker): its full text where it fits beside the whole title, else its short form
(at 80 columns: ``Synchro 14:30 — 12:34``).

The two lines are drawn by one Static (``#header-lines``), with the ``#countdown`` Static docked
at the top right on a layer of its own, rather than by six nested widgets: every widget on a
screen costs at start-up and in every layout pass, and the header is on every screen.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.content import Content
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from tui.backoffice import SyncStatus
from tui.i18n import HEADER_ORDER, Translator
from tui.widgets.direct_draw import draw_in_place


def _fit(content: Content, width: int, right: bool = False) -> Content:
    """``content`` in ``width`` cells with one cell of padding each side: cut with an
    ellipsis when too long, aligned left (or right) when shorter."""
    inner = max(0, width - 2)
    if content.cell_length > inner:
        content = content.truncate(inner, ellipsis=True)
    space = inner - content.cell_length
    content = content.pad_left(space) if right else content.pad_right(space)
    return content.pad(1, 1).truncate(width)


class _Countdown(Static):
    """The countdown's cells: its text changes each second, not its width, so it repaints
    alone — written to the terminal at once when nothing covers it (``draw_in_place``), else
    ``refresh()``: no layout pass, no new visual — and lays out only when its width changes
    (another language, the short form)."""

    def __init__(self) -> None:
        super().__init__(id="countdown", markup=False)
        self._text = ""

    def show(self, text: str) -> None:
        if cell_len(text) == cell_len(self._text):
            self._text = text
            # laid out for this width (not a change of width still waiting for its layout)
            if self.content_size.width != cell_len(text) or not draw_in_place(self):
                self.refresh()
        else:
            self._text = text
            self.update(text)

    def render(self) -> Content:
        return Content(self._text)


class _HeaderLines(Static):
    """Title, then languages and links left and the user right; fitted to the width."""

    def render(self) -> Content:
        header = self.parent
        assert isinstance(header, PortalHeader)
        return header.lines(self.size.width)


class PortalHeader(Widget):
    DEFAULT_CSS = """
    PortalHeader {
        dock: top;
        height: 2;
        background: $primary;
        color: $foreground;
        layers: lines countdown;
    }
    PortalHeader #header-lines {
        height: 2;
        text-wrap: nowrap;
        link-color: $foreground;
        link-background: transparent;
        link-style: underline;
    }
    PortalHeader #countdown {
        layer: countdown;
        dock: right;
        width: auto;
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        background: transparent;
    }
    """

    def __init__(
        self,
        lang: str,
        user: str | tuple[str, ...] = "",
        home: bool = True,
        id: str | None = "header",
    ) -> None:
        super().__init__(id=id)
        self.lang = lang
        self.user = ""  # who is logged in, whole
        self._user_forms: tuple[str, ...] = ()  # and shorter, for narrow terminals
        self._set_user(user)
        self.home = home
        self._title = Content("")
        self._nav = Content("")
        self._sync = SyncStatus("", "")
        self._sync_text = ""  # the form on show
        self._countdown = _Countdown()

    def compose(self) -> ComposeResult:
        yield _HeaderLines(id="header-lines")
        yield self._countdown

    def on_mount(self) -> None:
        self.watch(self.app, "sync_status", self._show_sync_status, init=True)
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self.set_language(self.lang)

    def _seen(self) -> bool:
        """Whether the header can be seen: its screen on top, or under dialogs only (the
        login screen's, under the portal, cannot: updating it would repaint the portal)."""
        if not self.is_attached:
            return False
        stack = self.app.screen_stack
        screen = self.screen
        if screen not in stack:
            return False
        return all(isinstance(above, ModalScreen) for above in stack[stack.index(screen) + 1 :])

    def _screen_changed(self, _screen: Screen[object]) -> None:
        if self._seen():  # shown again (the portal left, a dialog closed): the countdown now
            self._show_sync_status(self._sync)  # the latest, kept while unseen

    @property
    def title_text(self) -> str:
        """The portal's title, whole."""
        return self._title.plain

    def _status_text(self, width: int) -> str:
        """The countdown's full text if the title fits beside it in ``width`` cells, else its
        short form (the title may still be cut in a very narrow terminal)."""
        needed = self._title.cell_length + 2 + cell_len(self._sync.text) + 2
        return self._sync.text if needed <= width else self._sync.short

    def on_resize(self) -> None:
        self._show_sync_status(self._sync)

    def _show_sync_status(self, status: SyncStatus) -> None:
        # Each second the countdown changes, not its width: repaint this Static alone, no
        # layout pass (which would also re-arrange the page below); the title is fitted
        # beside it again only when its width changes.
        self._sync = status
        if not self._seen():  # caught up when its screen is shown again
            return
        text = self._status_text(self.size.width or self.app.size.width)  # full width
        if text == self._sync_text:
            return
        same_width = cell_len(text) == cell_len(self._sync_text)
        self._sync_text = text
        self._countdown.show(text)
        if not same_width:
            self._refresh_lines()

    def _refresh_lines(self) -> None:
        if self.is_mounted:
            self.query_one(_HeaderLines).refresh()

    def set_language(self, lang: str, user: str | tuple[str, ...] | None = None) -> None:
        """``user``: who is logged in, or several forms of it, longest first: the first
        that fits beside the links is shown (at 80 columns in German, a shorter one)."""
        self.lang = lang
        if user is not None:
            self._set_user(user)
        t = Translator(lang)
        self._title = Content.styled(t("shell.title"), "bold")
        parts = []
        for code in HEADER_ORDER:
            style = "bold reverse " if code == lang else ""
            parts.append(f"[{style}@click=app.language('{code}')]{code.upper()}[/]")
        nav = " | ".join(parts)
        links = [("app.home", t("shell.home"))] if self.home else []
        links += [("app.help", t("shell.help")), ("app.quit", t("shell.quit"))]
        for action, label in links:
            nav += f"  [@click={action}]{escape(label)}[/]"
        self._nav = Content.from_markup(nav)
        self._refresh_lines()
        if self.is_mounted:
            self._show_sync_status(self._sync)  # a title of another length

    def _set_user(self, user: str | tuple[str, ...]) -> None:
        self._user_forms = (user,) if isinstance(user, str) else user
        self.user = self._user_forms[0] if self._user_forms else ""

    def lines(self, width: int) -> Content:
        """The two lines at ``width`` cells."""
        status = self._sync_text
        title = _fit(self._title, max(0, width - cell_len(status) - 2))
        nav_width = min(width, self._nav.cell_length + 2)
        nav = _fit(self._nav, nav_width)
        forms = self._user_forms or ("",)
        room = width - nav_width - 2
        text = next((f for f in forms if cell_len(f) <= room), forms[-1])
        user = _fit(Content(text), width - nav_width, right=True)
        return Content("\n").join([title, nav + user])
