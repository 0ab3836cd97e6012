"""*Accueil*: the welcome page with the qualité's data (Gestion Qualité > Accueil)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.markup import escape
from textual.message import Message
from textual.widgets import Static

from screens.base import Page
from screens.cert_warning import expiring_for, warning_text
from store.ops import ExpiringCertificate
from tui.formatting import as_role, fmt_date, person_title, qualite_kind


def _b(text: str) -> str:
    return f"[b]{escape(text)}[/b]"


def _i(text: str) -> str:
    return f"[i]{escape(text)}[/i]"


class AccueilPage(Page):
    DEFAULT_CSS = """
    #cert-warning { text-style: bold; color: $warning; margin-top: 1; }
    """

    class Expiring(Message):
        def __init__(self, rows: list[ExpiringCertificate]) -> None:
            super().__init__()
            self.rows = rows

    def compose(self) -> ComposeResult:
        t, ctx = self.ctx.t, self.ctx
        q, org = ctx.qualite, ctx.qualite.organisation
        name = f"{person_title(t, ctx.person.title)} {ctx.person.full_name}"
        yield Static(
            t("accueil.welcome", name=_b(name), as_role=as_role(t, ctx.role.role, _b)), id="welcome"
        )
        yield Static(
            "\n".join(
                (
                    t("accueil.organisation_name", name=_i(org.name)),
                    t("accueil.kbo", kbo=escape(org.kbo_display)),
                    t("accueil.created", created=fmt_date(org.created_on)),
                )
            ),
            id="accueil-organisation",
            classes="block",
        )
        yield Static(
            "\n".join(
                (
                    t("accueil.qualite", kind=_i(qualite_kind(t, q.kind))),
                    t("accueil.onss", onss=escape(q.onss_display or "-")),
                    t("accueil.created", created=fmt_date(q.created_on)),
                )
            ),
            id="accueil-qualite",
            classes="block",
        )
        yield Static(t("accueil.reminder", data=_b(t("accueil.reminder_data"))), id="reminder")
        yield Static("", id="cert-warning", markup=False)

    def on_mount(self) -> None:
        self.query_one("#cert-warning").display = False
        if self.ctx.is_manager:
            self.check_certificates()

    def page_shown(self) -> None:
        if self.ctx.is_manager:
            self.when_settled(self.check_certificates)

    @work(thread=True, exclusive=True, exit_on_error=False, group="certificates")
    def check_certificates(self) -> None:
        today = self.portal_app.back_office.local_now().date()
        self.post_message(self.Expiring(expiring_for(self.ctx.qualite.id, today)))

    def on_accueil_page_expiring(self, message: Expiring) -> None:
        warning = self.query_one("#cert-warning", Static)
        warning.update(warning_text(self.ctx.t, message.rows))
        warning.display = bool(message.rows)
