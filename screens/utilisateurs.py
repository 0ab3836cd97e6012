"""*Utilisateurs*: the persons with a role in the qualité, and (for the gestionnaire local)
giving access, changing a role, designating or removing the co-gestionnaire local and
removing an access. Everyone else sees the list read-only; the services refuse too."""

from __future__ import annotations

from functools import partial

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from screens.base import Page
from screens.forms import StatusLine
from screens.user_dialogs import GiveAccessDialog, RoleDialog
from store.dto import SessionInfo
from store.errors import ExpeditoError
from store.models import CO_GESTIONNAIRE, GESTIONNAIRE, UTILISATEUR
from store.users import UserRow
from tui.context import AppContext
from tui.formatting import person_title, role_name
from tui.widgets.dialogs import ConfirmDialog

EDIT_ACTIONS = frozenset({"add", "role", "co", "remove"})


class UtilisateursPage(Page):
    BINDINGS = [
        Binding("a", "add", "Ajouter", id="users.add"),
        Binding("r", "role", "Rôle", id="users.role"),
        Binding("c", "co", "Co-gestionnaire", id="users.co"),
        Binding("x,delete", "remove", "Retirer", id="users.remove"),
    ]

    def __init__(self, ctx: AppContext, page_id: str) -> None:
        super().__init__(ctx, page_id)
        self.rows: list[UserRow] = []

    @property
    def may_edit(self) -> bool:
        return self.ctx.role.role == GESTIONNAIRE

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.utilisateurs.title"), classes="page-title", markup=False)
        yield Static(self.t("users.intro"), markup=False)
        yield DataTable(id="users", cursor_type="row", zebra_stripes=True)
        yield Static(
            self.t("users.keys") if self.may_edit else self.t("users.read_only"),
            id="users-note",
            classes="notice" if not self.may_edit else "hint",
            markup=False,
        )
        yield StatusLine("users-status")

    def on_mount(self) -> None:
        table = self.query_one("#users", DataTable)
        t = self.t
        table.add_column(t("users.name"), key="name")
        table.add_column(t("users.login"), key="login")
        table.add_column(t("users.role"), key="role")
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in EDIT_ACTIONS:
            return self.may_edit
        return True

    # --- loading ------------------------------------------------------------------------------

    def page_shown(self) -> None:
        self.call_after_refresh(self.load)  # someone may have given or removed an access

    def reload(self, note: str = "", error: bool = False, session_changed: bool = False) -> None:
        self.load(note, error, session_changed)

    def load(self, note: str = "", error: bool = False, session_changed: bool = False) -> None:
        self.load_and_show(
            partial(self.fetch, session_changed), partial(self.show, note=note, error=error)
        )

    def fetch(self, session_changed: bool = False) -> tuple[SessionInfo | None, list[UserRow]]:
        """The users, and the session read again when my own role may have changed (a
        handed-over gestionnaire local)."""
        from store.users import users_of

        session = None
        if session_changed:
            from store.access import session_for

            session = session_for(self.ctx.person.id)
        return session, users_of(self.ctx.person.id, self.ctx.qualite.id)

    def show(
        self, loaded: tuple[SessionInfo | None, list[UserRow]], note: str = "", error: bool = False
    ) -> None:
        session, rows = loaded
        if session is not None:
            self.context_changed(self.ctx.refreshed(session))
        t = self.ctx.t
        table = self.query_one("#users", DataTable)
        selected = self._selected()
        table.clear()
        self.rows = rows
        for row in rows:
            p = row.person
            table.add_row(p.full_name, p.login, role_name(t, row.role), key=str(p.id))
        if selected is not None and str(selected.person.id) in {
            str(r.person.id) for r in self.rows
        }:
            table.move_cursor(row=table.get_row_index(str(selected.person.id)))
        hint = self.query_one("#users-note", Static)
        hint.update(t("users.keys") if self.may_edit else t("users.read_only"))
        hint.set_class(not self.may_edit, "notice")
        self.query_one(StatusLine).show(note, error)
        self.refresh_bindings()

    def _selected(self) -> UserRow | None:
        table = self.query_one("#users", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if str(r.person.id) == key), None)

    def _label(self, row: UserRow) -> str:
        return f"{person_title(self.ctx.t, row.person.title)} {row.person.full_name}"

    # --- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.may_edit:
            self.action_role()

    def action_add(self) -> None:
        def given(row: UserRow | None) -> None:
            if row is not None:
                self.reload(
                    self.t(
                        "users.given", name=self._label(row), role=role_name(self.ctx.t, row.role)
                    )
                )

        self.app.push_screen(
            GiveAccessDialog(self.ctx.person.id, self.ctx.qualite.id, self.ctx.lang), given
        )

    def action_role(self) -> None:
        row = self._selected()
        if row is None:
            return

        def chosen(role: str | None) -> None:
            if role is not None and role != row.role:
                self.change(row, role)

        self.app.push_screen(RoleDialog(self._label(row), row.role, self.ctx.lang), chosen)

    def action_co(self) -> None:
        """Designate the selected person co-gestionnaire local, or remove that role."""
        row = self._selected()
        if row is None:
            return
        self.change(row, UTILISATEUR if row.role == CO_GESTIONNAIRE else CO_GESTIONNAIRE)

    def action_remove(self) -> None:
        row = self._selected()
        if row is None:
            return
        t = self.t

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_person(row)

        question = t("users.remove_question", name=self._label(row))
        self.app.push_screen(
            ConfirmDialog(question, t("users.remove_yes"), t("portal_form.cancel")), answered
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def change(self, row: UserRow, role: str) -> None:
        from store.users import change_role

        try:
            change_role(self.ctx.person.id, self.ctx.qualite.id, row.person.id, role)
        except ExpeditoError as exc:
            self.app.call_from_thread(self.reload, self._error(exc), True)
            return
        note = self.t("users.role_changed", name=self._label(row), role=role_name(self.ctx.t, role))
        self.app.call_from_thread(self.reload, note, False, role == GESTIONNAIRE)

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def remove_person(self, row: UserRow) -> None:
        from store.users import remove_access

        try:
            remove_access(self.ctx.person.id, self.ctx.qualite.id, row.person.id)
        except ExpeditoError as exc:
            self.app.call_from_thread(self.reload, self._error(exc), True)
            return
        self.app.call_from_thread(self.reload, self.t("users.removed", name=self._label(row)))

    def _error(self, exc: ExpeditoError) -> str:
        from tui.i18n import error_text

        return error_text(exc, self.ctx.lang)
