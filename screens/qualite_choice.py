"""Choose the qualité to work in, when the person has roles in several (after login, or F3).

A social secretariat's manager may have thousands: from ``FILTER_FROM`` roles a field above
the list filters them as one types (name, company number, ONSS number, kind; without accents
nor case), and the list shows the first ``SHOWN`` that match, with how many there are, so the
screen opens at once and the one sought is a few keys away."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from store.dto import RoleInfo
from store.text import fold
from tui.formatting import qualite_kind, role_name
from tui.i18n import Translator
from tui.widgets.footer import PortalFooter
from tui.widgets.portal_header import PortalHeader

FILTER_FROM = 30  # roles from which the list has a filter field
SHOWN = 100  # options shown at most (the rest: type more)


class QualiteChoiceScreen(Screen[RoleInfo | None]):
    """Dismisses with the chosen role (its qualité), or None on Escape."""

    AUTO_FOCUS = "#qualite-filter, #qualites"
    BINDINGS = [Binding("escape", "cancel", "Retour", id="qualite.cancel")]

    def __init__(
        self, roles: tuple[RoleInfo, ...], lang: str, user: str = "", current: int | None = None
    ) -> None:
        super().__init__(id="qualite-screen")
        self.roles = roles
        self.lang = lang
        self.user = user
        self.current = current
        self.filtered = len(roles) >= FILTER_FROM
        self._texts: list[str] = []  # each role's option text, folded (filtered lists only)
        self.shown: list[int] = []  # the indexes in ``roles`` of the options on show
        self._count = len(roles)  # how many match the filter

    def compose(self) -> ComposeResult:
        t = Translator(self.lang)
        yield PortalHeader(self.lang, self.user, home=False)
        with Vertical(id="qualite-box"):
            yield Static(t("qualite.choose_title"), classes="page-title", markup=False)
            yield Static(t("qualite.choose_text"), markup=False)
            if self.filtered:
                yield Input(placeholder=t("qualite.filter"), id="qualite-filter")
                yield Static("", id="qualite-count", markup=False)
            menu = OptionList(*self._options(t, ""), id="qualites")
            menu.set_class(self.filtered, "-many")  # the rest of the screen, scrolled
            yield menu
        yield PortalFooter()

    def _options(self, t: Translator, query: str) -> list[Option]:
        """The options of the roles matching ``query`` (every word of it), the first
        ``SHOWN`` when the list is filtered."""
        if not self.filtered:
            self.shown = list(range(len(self.roles)))
            return [self._option(t, i, role) for i, role in enumerate(self.roles)]
        words = fold(query).split()
        if words and not self._texts:  # made at the first key typed, not to open the screen
            self._texts = [fold(f"{self._text(t, r)} {self._numbers(r)}") for r in self.roles]
        matching = [i for i, text in enumerate(self._texts) if all(w in text for w in words)]
        if not words:
            matching = list(range(len(self.roles)))
        self.shown = matching[:SHOWN]
        self._count = len(matching)
        return [self._option(t, i, self.roles[i]) for i in self.shown]

    @staticmethod
    def _numbers(role: RoleInfo) -> str:
        """The numbers as typed without their dots and dashes (``0403123486``, ``123456749``)."""
        q = role.qualite
        return f"{q.organisation.kbo} {q.onss_number or ''}"

    def _show_count(self, t: Translator) -> None:
        if not self.filtered:
            return
        shown = len(self.shown)
        key = "qualite.count_cut" if shown < self._count else "qualite.count"
        self.query_one("#qualite-count", Static).update(
            t(key, shown=shown, total=self._count, all=len(self.roles))
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "qualite-filter":
            return
        event.stop()
        t = Translator(self.lang)
        menu = self.query_one("#qualites", OptionList)
        menu.set_options(self._options(t, event.value))
        if self.shown:
            menu.highlighted = 0
        self._show_count(t)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the field: the highlighted qualité (the first that matches)."""
        if event.input.id != "qualite-filter":
            return
        event.stop()
        menu = self.query_one("#qualites", OptionList)
        if self.shown and menu.highlighted is not None:
            self.dismiss(self.roles[self.shown[menu.highlighted]])

    def on_key(self, event: events.Key) -> None:
        """Up and Down in the field move in the list (the field keeps the keys typed)."""
        if not self.filtered or self.focused is None or self.focused.id != "qualite-filter":
            return
        if event.key in ("down", "up"):
            event.stop()
            event.prevent_default()
            menu = self.query_one("#qualites", OptionList)
            if event.key == "down":
                menu.action_cursor_down()
            else:
                menu.action_cursor_up()

    def _text(self, t: Translator, role: RoleInfo) -> str:
        q = role.qualite
        return t(
            "qualite.option",
            name=q.organisation.name,
            kbo=q.organisation.kbo_display,
            kind=qualite_kind(t, q.kind),
            role=role_name(t, role.role),
        )

    def _option(self, t: Translator, index: int, role: RoleInfo) -> Option:
        return Option(Content(self._text(t, role)), id=f"qualite-{role.qualite.id}")

    def on_mount(self) -> None:
        self.refresh_bindings()
        self._show_count(Translator(self.lang))
        if self.current is not None:
            menu = self.query_one("#qualites", OptionList)
            ids = [self.roles[i].qualite.id for i in self.shown]
            if self.current in ids:
                menu.highlighted = ids.index(self.current)

    def help_text(self, t: Translator) -> tuple[str, str]:
        return t("qualite.choose_title"), t("help.qualite")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.roles[self.shown[event.option_index]])

    def action_cancel(self) -> None:
        self.dismiss(None)
