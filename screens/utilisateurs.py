"""*Utilisateurs*: the persons with a role in the qualité, and (for the gestionnaire local)
giving access, changing a role, designating or removing the co-gestionnaire local and
removing an access. Everyone else sees the list read-only; the services refuse too.

A change that also changes a third person's role (the co-gestionnaire local replaced) is
said and asked first; what cannot be done (the last gestionnaire local removed) is refused
at once, before any question."""

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
from store.users import RoleChange, UserRow
from tui.context import AppContext
from tui.formatting import as_role, person_title, role_name
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.fitted_table import FittedTable

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
        self.wanted: int | None = None  # a person to put the cursor on once loaded

    @property
    def may_edit(self) -> bool:
        return self.ctx.role.role == GESTIONNAIRE

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.utilisateurs.title"), classes="page-title", markup=False)
        yield Static(self.t("users.intro"), markup=False)
        yield FittedTable(id="users", keep={"role"}, visible_rows=11)
        yield Static(
            self.t("users.keys") if self.may_edit else self.t("users.read_only"),
            id="users-note",
            classes="notice" if not self.may_edit else "hint",
            markup=False,
        )
        yield StatusLine("users-status")

    def on_mount(self) -> None:
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in EDIT_ACTIONS:
            return self.may_edit
        return True

    # --- loading ------------------------------------------------------------------------------

    def page_shown(self) -> None:
        self.when_settled(self.load)  # someone may have given or removed an access

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
        self.rows = rows
        self.query_one("#users", FittedTable).fill(
            [("name", t("users.name")), ("login", t("users.login")), ("role", t("users.role"))],
            [
                (str(r.person.id), (r.person.full_name, r.person.login, role_name(t, r.role)))
                for r in rows
            ],
        )
        if self.wanted is not None and any(r.person.id == self.wanted for r in rows):
            table = self.query_one("#users", FittedTable)
            table.move_cursor(row=table.get_row_index(str(self.wanted)))
            table.focus()
            self.wanted = None
        hint = self.query_one("#users-note", Static)
        hint.update(t("users.keys") if self.may_edit else t("users.read_only"))
        hint.set_class(not self.may_edit, "notice")
        self.query_one(StatusLine).show(note, error)
        self.refresh_bindings()

    def select_person(self, person_id: int) -> None:
        """Put the cursor (and the keyboard) on this person once the list is loaded."""
        self.wanted = person_id
        self.load()

    def _selected(self) -> UserRow | None:
        table = self.query_one("#users", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if str(r.person.id) == key), None)

    def _label(self, row: UserRow | RoleChange) -> str:
        return f"{person_title(self.ctx.t, row.person.title)} {row.person.full_name}"

    # --- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.may_edit:
            self.action_role()

    def action_add(self) -> None:
        co = next((r for r in self.rows if r.role == CO_GESTIONNAIRE), None)

        def given(row: UserRow | None) -> None:
            if row is None:
                return
            t = self.ctx.t
            note = t("users.given", name=self._label(row), as_role=as_role(t, row.role))
            if co is not None and row.role == CO_GESTIONNAIRE:
                note += " " + t(
                    "users.role_changed", name=self._label(co), role=role_name(t, UTILISATEUR)
                )
            self.reload(note)

        self.app.push_screen(
            GiveAccessDialog(
                self.ctx.person.id,
                self.ctx.qualite.id,
                self.ctx.lang,
                co=(co.person.id, self._label(co)) if co else None,
            ),
            given,
        )

    def action_role(self) -> None:
        row = self._selected()
        if row is None or self._refused(row):
            return

        def chosen(role: str | None) -> None:
            if role is not None and role != row.role:
                self.ask_then_change(row, role)

        self.app.push_screen(RoleDialog(self._label(row), row.role, self.ctx.lang), chosen)

    def action_co(self) -> None:
        """Designate the selected person co-gestionnaire local, or remove that role."""
        row = self._selected()
        if row is None or self._refused(row):
            return
        self.ask_then_change(row, UTILISATEUR if row.role == CO_GESTIONNAIRE else CO_GESTIONNAIRE)

    def action_remove(self) -> None:
        row = self._selected()
        if row is None or self._refused(row):
            return
        t = self.t

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_person(row)

        question = t("users.remove_question", name=self._label(row))
        self.app.push_screen(
            ConfirmDialog(question, t("users.remove_yes"), t("portal_form.cancel")), answered
        )

    def _refused(self, row: UserRow) -> bool:
        """The gestionnaire local's own role cannot be changed nor removed (only handed over
        by designating another one): said at once, before any question."""
        if row.role != GESTIONNAIRE:
            return False
        self.query_one(StatusLine).show(self.t("error.role.last_gestionnaire"), True)
        return True

    def ask_then_change(self, row: UserRow, role: str) -> None:
        """Change ``row``'s role; when that changes a third person's role too, say who and
        ask first."""
        from store.users import role_changes, third_parties

        try:
            others = third_parties(role_changes(self.rows, row.person.id, role), self.ctx.person.id)
        except ExpeditoError as exc:
            self.query_one(StatusLine).show(self._error(exc), True)
            return
        if not others:
            self.change(row, role)
            return
        t = self.ctx.t

        def answered(yes: bool | None) -> None:
            if yes:
                self.change(row, role, frozenset(c.person.id for c in others))

        lines = [t("users.will_become", name=self._label(row), role=role_name(t, role))]
        lines += [
            t("users.will_become", name=self._label(c), role=role_name(t, c.new)) for c in others
        ]
        question = t("users.others_question", changes="\n".join(lines))
        self.app.push_screen(
            ConfirmDialog(question, t("users.confirm"), t("portal_form.cancel")), answered
        )

    def changed_note(self, changes: tuple[RoleChange, ...]) -> str:
        t = self.ctx.t
        return " ".join(
            t("users.role_changed", name=self._label(c), role=role_name(t, c.new)) for c in changes
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def change(self, row: UserRow, role: str, confirmed: frozenset[int] = frozenset()) -> None:
        from store.users import change_role

        try:
            changes = change_role(
                self.ctx.person.id,
                self.ctx.qualite.id,
                row.person.id,
                role,
                confirmed=confirmed,
            )
        except ExpeditoError as exc:
            self.app.call_from_thread(self.reload, self._error(exc), True)
            return
        self.app.call_from_thread(
            self.reload, self.changed_note(changes), False, role == GESTIONNAIRE
        )

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
