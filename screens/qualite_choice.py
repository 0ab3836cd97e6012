"""Choose the qualité to work in, when the person has roles in several (after login, or F3)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from store.dto import RoleInfo
from tui.formatting import qualite_kind, role_name
from tui.i18n import Translator
from tui.widgets.footer import PortalFooter
from tui.widgets.portal_header import PortalHeader


class QualiteChoiceScreen(Screen[RoleInfo | None]):
    """Dismisses with the chosen role (its qualité), or None on Escape."""

    AUTO_FOCUS = "#qualites"
    BINDINGS = [Binding("escape", "cancel", "Retour", id="qualite.cancel")]

    def __init__(
        self, roles: tuple[RoleInfo, ...], lang: str, user: str = "", current: int | None = None
    ) -> None:
        super().__init__(id="qualite-screen")
        self.roles = roles
        self.lang = lang
        self.user = user
        self.current = current

    def compose(self) -> ComposeResult:
        t = Translator(self.lang)
        yield PortalHeader(self.lang, self.user, home=False)
        with Vertical(id="qualite-box"):
            yield Static(t("qualite.choose_title"), classes="page-title", markup=False)
            yield Static(t("qualite.choose_text"), markup=False)
            yield OptionList(
                *(self._option(t, i, role) for i, role in enumerate(self.roles)), id="qualites"
            )
        yield PortalFooter()

    def _option(self, t: Translator, index: int, role: RoleInfo) -> Option:
        q = role.qualite
        text = t(
            "qualite.option",
            name=q.organisation.name,
            kbo=q.organisation.kbo_display,
            kind=qualite_kind(t, q.kind),
            role=role_name(t, role.role),
        )
        return Option(Content(text), id=f"qualite-{q.id}")

    def on_mount(self) -> None:
        self.refresh_bindings()
        if self.current is not None:
            menu = self.query_one("#qualites", OptionList)
            menu.highlighted = menu.get_option_index(f"qualite-{self.current}")

    def help_text(self, t: Translator) -> tuple[str, str]:
        return t("qualite.choose_title"), t("help.qualite")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.roles[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
