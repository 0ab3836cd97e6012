"""*Rechercher utilisateurs*: persons the manager may see (those with a role in a qualité of an
organisation where they are gestionnaire or co-gestionnaire local), by name, login or e-mail.

Results follow the typing: each keystroke starts an exclusive thread worker (the previous
search is cancelled, its result ignored), so the keyboard never waits. Accents and case do not
matter ("muller" finds "Müller"). PageDown / PageUp turn the pages of results. Each result
shows the person (name, login), the qualité (organisation, kind) and the role, on two lines,
within 80 columns; Enter opens the person in *Utilisateurs* of that qualité.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static

from screens.base import Page
from screens.forms import KeepTyped, StatusLine
from store.users import PAGE_SIZE, SearchHit, SearchPage
from tui.context import AppContext
from tui.formatting import qualite_kind, role_name
from tui.widgets.fitted_table import FittedTable


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
        self.hits: tuple[SearchHit, ...] = ()
        self.searched = False  # a first search started (on mount or when first shown)

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
        yield FittedTable(id="results", keep={"role"}, visible_rows=4, compact=True)
        yield StatusLine("search-status")

    def on_mount(self) -> None:
        # Built ahead (hidden) after login, the first search runs now, so the page opens with
        # its results; for a manager of many organisations only when first shown, not beside
        # the scope built in the background at login (``store.scope_search.prepare``).
        from store import scope_search

        if self.ctx.is_manager and (self.display or not scope_search.preparing(self.ctx.person.id)):
            self.searched = True
            self.loading_started()
            self.search("", 0)

    def page_shown(self) -> None:
        if not self.ctx.is_manager:
            return
        if not self.searched:  # built ahead while a large scope was being prepared
            self.searched = True
            self.search(self.query_text, self.result_offset)
        else:  # the same search, on today's persons and roles
            self.when_settled(lambda: self.search(self.query_text, self.result_offset))

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
        self.hits = page.hits
        self.query_one("#results", FittedTable).fill(
            [
                ("name", t("search.person")),
                ("qualite", t("search.qualite")),
                ("role", t("users.role")),
            ],
            [
                (
                    f"{page.offset + i}",
                    (
                        f"{hit.person.last_name} {hit.person.first_name}\n{hit.person.login}",
                        f"{hit.organisation}\n{qualite_kind(t, hit.qualite_kind)}",
                        _two_lines(role_name(t, hit.role)),
                    ),
                )
                for i, hit in enumerate(page.hits)
            ],
        )
        count = self.query_one("#search-count", Static)
        if page.total == 0:
            count.update(t("search.none"))
        else:
            count.update(
                t(
                    "search.count_more" if page.more else "search.count",
                    first=page.offset + 1,
                    last=page.offset + len(page.hits),
                    total=page.total,
                )
                + " · "
                + t("search.open_hint")
            )
        self.refresh_bindings()
        self.data_shown()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a result: that person in *Utilisateurs* of that qualité."""
        event.stop()
        index = event.cursor_row
        if not 0 <= index < len(self.hits):
            return
        hit = self.hits[index]
        # The app's worker, not the page's: opening another qualité rebuilds the pages.
        self.app.run_worker(self._open(hit), group="open-person", exclusive=True)

    async def _open(self, hit: SearchHit) -> None:
        if not await self.portal_app.open_person(hit.qualite_id, hit.person.id):
            self.query_one(StatusLine).show(self.t("error.role.none"), True)


def _two_lines(text: str) -> str:
    """A role's name on two lines ("Co-gestionnaire\nLocal"), to take less width."""
    first, _, rest = text.rpartition(" ")
    return f"{first}\n{rest}" if first else text
