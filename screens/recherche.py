"""*Rechercher utilisateurs*: persons the manager may see (those with a role in a qualité of an
organisation where they are gestionnaire or co-gestionnaire local), by name, login or e-mail.

Results follow the typing: each keystroke starts an exclusive thread worker (the previous
search is cancelled, its result ignored), so the keyboard never waits. PageDown / PageUp turn
the pages of results.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static

from screens.base import Page
from screens.forms import KeepTyped
from store.users import PAGE_SIZE, SearchPage
from tui.context import AppContext
from tui.formatting import qualite_kind, role_name


class RecherchePage(KeepTyped, Page):
    """(A search typed is no unsaved input: Escape leaves without asking.)"""

    BINDINGS = [
        Binding("pagedown", "next_page", "Page suivante", id="search.next", priority=True),
        Binding("pageup", "previous_page", "Page précédente", id="search.previous", priority=True),
    ]

    class Found(Message):
        def __init__(self, text: str, page: SearchPage) -> None:
            super().__init__()
            self.text = text
            self.page = page

    def unsaved_input(self) -> bool:
        return False

    def __init__(self, ctx: AppContext, page_id: str) -> None:
        super().__init__(ctx, page_id)
        self.query_text = ""
        self.result_offset = 0
        self.result_total = 0

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(t("page.recherche_utilisateurs.title"), classes="page-title", markup=False)
        if not self.ctx.is_manager:
            yield Static(
                t("search.managers_only"), id="search-denied", classes="notice", markup=False
            )
            return
        with Horizontal(id="search-row"):
            yield Label(t("search.label"), classes="field-label", markup=False)
            yield Input(
                id="search", compact=True, max_length=100, placeholder=t("search.placeholder")
            )
        yield Static(id="search-count", markup=False)
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        if not self.ctx.is_manager:
            return
        t = self.t
        table = self.query_one("#results", DataTable)
        table.add_column(t("users.name"), key="name")
        table.add_column(t("users.login"), key="login")
        table.add_column(t("users.role"), key="role")
        table.add_column(t("search.qualite"), key="qualite")
        self.search("", 0)

    def page_shown(self) -> None:
        if self.ctx.is_manager:  # the same search, on today's persons and roles
            self.call_after_refresh(self.search, self.query_text, self.result_offset)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_page", "previous_page"):
            if not self.ctx.is_manager:
                return False
            step = 1 if action == "next_page" else -1
            target = self.result_offset + PAGE_SIZE * step
            return None if target < 0 or target >= max(self.result_total, 1) else True
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search(event.value, 0)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#results", DataTable).focus()

    def action_next_page(self) -> None:
        self.action_page(1)

    def action_previous_page(self) -> None:
        self.action_page(-1)

    def action_page(self, step: int) -> None:
        target = self.result_offset + PAGE_SIZE * step
        if 0 <= target < self.result_total:
            self.search(self.query_text, target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def search(self, text: str, offset: int) -> None:
        from store.users import search_persons

        page = search_persons(self.ctx.person.id, text, offset, PAGE_SIZE)
        self.post_message(self.Found(text, page))

    def on_recherche_page_found(self, message: Found) -> None:
        if message.text != self.query_one("#search", Input).value:
            return  # an older search; the newer one is on its way
        t = self.ctx.t
        page = message.page
        self.query_text = message.text
        self.result_offset, self.result_total = page.offset, page.total
        table = self.query_one("#results", DataTable)
        table.clear()
        for i, hit in enumerate(page.hits):
            p = hit.person
            table.add_row(
                f"{p.last_name} {p.first_name}",
                p.login,
                role_name(t, hit.role),
                f"{hit.organisation} ({qualite_kind(t, hit.qualite_kind)})",
                key=f"{page.offset + i}",
            )
        count = self.query_one("#search-count", Static)
        if page.total == 0:
            count.update(t("search.none"))
        else:
            count.update(
                t(
                    "search.count",
                    first=page.offset + 1,
                    last=page.offset + len(page.hits),
                    total=page.total,
                )
            )
        self.refresh_bindings()
