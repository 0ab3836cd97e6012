"""*Accueil*: the welcome page with the qualité's data (Gestion Qualité > Accueil)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.markup import escape
from textual.widgets import Static

from screens.base import Page
from tui.formatting import fmt_date, person_title, qualite_kind, role_name


def _b(text: str) -> str:
    return f"[b]{escape(text)}[/b]"


def _i(text: str) -> str:
    return f"[i]{escape(text)}[/i]"


class AccueilPage(Page):
    def compose(self) -> ComposeResult:
        t, ctx = self.ctx.t, self.ctx
        q, org = ctx.qualite, ctx.qualite.organisation
        name = f"{person_title(t, ctx.person.title)} {ctx.person.full_name}"
        yield Static(t("accueil.welcome", name=_b(name), role=_b(role_name(t, ctx.role.role))),
                     id="welcome")
        yield Static("\n".join((
            t("accueil.organisation_name", name=_i(org.name)),
            t("accueil.kbo", kbo=escape(org.kbo_display)),
            t("accueil.created", created=fmt_date(org.created_on)),
        )), id="accueil-organisation", classes="block")
        yield Static("\n".join((
            t("accueil.qualite", kind=_i(qualite_kind(t, q.kind))),
            t("accueil.onss", onss=escape(q.onss_display or "-")),
            t("accueil.created", created=fmt_date(q.created_on)),
        )), id="accueil-qualite", classes="block")
        yield Static(t("accueil.reminder", data=_b(t("accueil.reminder_data"))), id="reminder")
