"""The dialogs of *Utilisateurs*: give a person access (an existing one or a new one), and
choose a role. Both are ``ModalScreen``s returning a typed result with ``dismiss``."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from screens.forms import FieldRow, FormFailed, clear_errors, field_value, show_errors
from store.errors import ExpeditoError
from store.models import CO_GESTIONNAIRE, ROLES, UTILISATEUR
from store.rules import TITLES
from store.users import NewPerson, UserRow
from tui.formatting import person_title, role_name
from tui.i18n import LANGUAGE_NAMES, LANGUAGES, Translator
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.footer import PortalFooter
from tui.widgets.select import PortalSelect

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 100%; height: auto; max-height: 100%;
    border: thick $primary; background: $surface; padding: 0 1;
}}
{name} .dialog-title {{ text-style: bold; color: $primary; }}
{name} .dialog-buttons {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} .dialog-buttons Button {{ margin-left: 1; }}
{name} .dialog-status {{ color: $error; text-style: bold; }}
"""


class GiveAccessDialog(ModalScreen[UserRow | None]):
    """*Donner accès*: find a person by login or e-mail, or create one, and choose a role."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="GiveAccessDialog")
        + """
    GiveAccessDialog VerticalScroll { height: auto; max-height: 16; }
    GiveAccessDialog #new-person { height: auto; display: none; }
    GiveAccessDialog.-new #new-person { display: block; }
    GiveAccessDialog.-new #row-login_or_email { display: none; }
    GiveAccessDialog #login-rules { color: $text-muted; }
    GiveAccessDialog #co-note { display: none; color: $warning; }
    GiveAccessDialog.-co #co-note { display: block; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Annuler", id="dialog.cancel")]
    AUTO_FOCUS = "#login_or_email"

    def __init__(
        self, actor_id: int, qualite_id: int, lang: str, co: tuple[int, str] | None = None
    ) -> None:
        """``co``: the qualité's co-gestionnaire local now (id, name), whom naming another
        one would make utilisateur: said when that role is chosen, asked before giving it."""
        super().__init__()
        self.actor_id, self.qualite_id = actor_id, qualite_id
        self.co = co
        self.t = Translator(lang)

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical():
            yield Static(t("users.give_title"), classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Checkbox(t("users.new_person"), id="new", compact=True)
                yield FieldRow(
                    t("users.login_or_email"),
                    Input(id="login_or_email", compact=True, max_length=254),
                    "login_or_email",
                )
                with Vertical(id="new-person"):
                    yield FieldRow(
                        t("users.login"), Input(id="login", compact=True, max_length=100), "login"
                    )
                    yield Static(t("users.login_rules"), id="login-rules", markup=False)
                    yield FieldRow(
                        t("users.password"),
                        Input(id="password", compact=True, password=True, max_length=200),
                        "password",
                    )
                    yield FieldRow(
                        t("personal.title"),
                        PortalSelect(
                            [(person_title(t, code), code) for code in TITLES],
                            value=TITLES[0],
                            allow_blank=False,
                            compact=True,
                            id="title",
                        ),
                        "title",
                    )
                    yield FieldRow(
                        t("personal.first_name"),
                        Input(id="first_name", compact=True, max_length=100),
                        "first_name",
                    )
                    yield FieldRow(
                        t("personal.last_name"),
                        Input(id="last_name", compact=True, max_length=100),
                        "last_name",
                    )
                    yield FieldRow(
                        t("personal.email"),
                        Input(id="email", compact=True, max_length=254),
                        "email",
                    )
                    yield FieldRow(
                        t("personal.language"),
                        PortalSelect(
                            [(LANGUAGE_NAMES[code], code) for code in LANGUAGES],
                            value=t.lang,
                            allow_blank=False,
                            compact=True,
                            id="language",
                        ),
                        "language",
                    )
                yield FieldRow(
                    t("users.role"),
                    PortalSelect(
                        [(role_name(t, r), r) for r in (UTILISATEUR, CO_GESTIONNAIRE)],
                        value=UTILISATEUR,
                        allow_blank=False,
                        compact=True,
                        id="role",
                    ),
                    "role",
                )
                yield Static(
                    t(
                        "users.co_replaced_note",
                        name=self.co[1] if self.co else "",
                        role=role_name(t, UTILISATEUR),
                    ),
                    id="co-note",
                    markup=False,
                )
            yield Static(id="dialog-status", classes="dialog-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("portal_form.cancel"), id="cancel", compact=True)
                yield Button(t("users.give"), id="give", variant="primary", compact=True)
        yield PortalFooter()

    def on_mount(self) -> None:
        self.refresh_bindings()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.set_class(event.value, "-new")
        clear_errors(self)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "role":
            self.set_class(self.co is not None and event.value == CO_GESTIONNAIRE, "-co")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "give":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        clear_errors(self)
        self.query_one("#dialog-status", Static).update("")
        new = self.has_class("-new")
        person = None
        if new:
            person = NewPerson(
                login=field_value(self, "login").strip(),
                password=field_value(self, "password"),
                first_name=field_value(self, "first_name").strip(),
                last_name=field_value(self, "last_name").strip(),
                email=field_value(self, "email").strip(),
                title=field_value(self, "title"),
                language=field_value(self, "language"),
            )
        role, login_or_email = field_value(self, "role"), field_value(self, "login_or_email")
        if role != CO_GESTIONNAIRE or self.co is None:
            self.give(role, login_or_email, person)
            return
        co_id, co_name = self.co
        t = self.t

        def answered(yes: bool | None) -> None:
            if yes:
                self.give(role, login_or_email, person, co_id)

        question = t(
            "users.others_question",
            changes=t("users.will_become", name=co_name, role=role_name(t, UTILISATEUR)),
        )
        self.app.push_screen(
            ConfirmDialog(question, t("users.confirm"), t("portal_form.cancel")), answered
        )

    @work(thread=True, exclusive=True, exit_on_error=False)
    def give(
        self,
        role: str,
        login_or_email: str,
        person: NewPerson | None,
        replace_co: int | None = None,
    ) -> None:
        from store.users import give_access

        try:
            row = give_access(
                self.actor_id,
                self.qualite_id,
                role,
                login_or_email,
                new_person=person,
                replace_co=replace_co,
            )
        except ExpeditoError as exc:
            self.post_message(FormFailed(exc))
            return
        self.app.call_from_thread(self.dismiss, row)

    def on_form_failed(self, message: FormFailed) -> None:
        fields = {} if self.has_class("-new") else {"login": "login_or_email"}
        rest = show_errors(self, message.error, self.t, fields)
        self.query_one("#dialog-status", Static).update(rest)


class RoleDialog(ModalScreen[str | None]):
    """Choose a role for a person; designating another gestionnaire local hands the role
    over (the current one becomes co-gestionnaire local)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="RoleDialog")
        + """
    RoleDialog OptionList { height: auto; margin: 1 0; }
    RoleDialog #role-note { color: $text-muted; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Annuler", id="dialog.cancel")]
    AUTO_FOCUS = "#roles"

    def __init__(self, name: str, current: str, lang: str) -> None:
        super().__init__()
        self.person_name, self.current = name, current
        self.t = Translator(lang)

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical():
            yield Static(
                t("users.role_title", name=self.person_name), classes="dialog-title", markup=False
            )
            yield OptionList(
                *[
                    Option(role_name(t, r) + (" ✓" if r == self.current else ""), id=r)
                    for r in ROLES
                ],
                id="roles",
                compact=True,
            )
            yield Static(
                f"{t('users.handover_note')}\n{t('users.co_rule')}", id="role-note", markup=False
            )
        yield PortalFooter()

    def on_mount(self) -> None:
        self.refresh_bindings()
        roles = self.query_one("#roles", OptionList)
        roles.highlighted = roles.get_option_index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
