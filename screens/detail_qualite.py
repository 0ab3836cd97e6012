"""*Consulter ou modifier le détail de la qualité*: the organisation and the qualité.

The managers may change the Dénomination, the Numéro d'entreprise and, for an Employeur ONSS,
the Matricule ONSS (checked with their check digits as they are typed, and again on saving);
the type of qualité and the dates are read-only. A plain utilisateur sees it all read-only.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from screens.base import Page
from screens.forms import (
    FieldRow,
    FormFailed,
    ReloadWhenUntouched,
    RuleValidator,
    SaveOnEnter,
    StatusLine,
    check_inputs,
    field_value,
    report,
    required,
    value_row,
)
from store.dto import QualiteInfo, SessionInfo
from store.errors import ExpeditoError
from store.models import EMPLOYEUR_ONSS
from store.qualites import QualiteChanges
from store.rules import FIELD_MAX, normalize_kbo, normalize_onss
from tui.formatting import fmt_date, qualite_kind


class DetailQualitePage(SaveOnEnter, ReloadWhenUntouched, Page):
    class Saved(Message):
        def __init__(self, qualite: QualiteInfo, session: SessionInfo) -> None:
            super().__init__()
            self.qualite = qualite
            self.session = session

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.detail_qualite.title"), classes="page-title", markup=False)
        yield Vertical(id="detail-body")
        yield StatusLine("detail-status")

    def on_mount(self) -> None:
        self.load()

    def fetch(self) -> QualiteInfo:
        from store.qualites import qualite_detail

        return qualite_detail(self.ctx.person.id, self.ctx.qualite.id)

    async def show(self, q: QualiteInfo) -> None:
        t, editable = self.ctx.t, self.ctx.is_manager
        org = q.organisation
        lang = self.ctx.lang
        values = {
            "name": org.name,
            "kbo": org.kbo_display,
            "org-created": fmt_date(org.created_on),
            "kind": qualite_kind(t, q.kind),
            "qualite-created": fmt_date(q.created_on),
        }
        if q.kind == EMPLOYEUR_ONSS:
            values["onss"] = q.onss_display
        if self.refill(values):
            return

        def field(name: str, value: str, rule: Callable[[str], object]) -> FieldRow:
            label = t(f"detail.{name}")
            if not editable:
                return value_row(label, value, name)
            return FieldRow(
                label,
                Input(
                    value,
                    id=name,
                    compact=True,
                    max_length=FIELD_MAX,
                    validators=[RuleValidator(rule, lang)],
                    validate_on=["blur", "submitted"],
                ),
                name,
            )

        widgets = [
            Static(t("detail.organisation"), classes="section-title", markup=False),
            field("name", org.name, required),
            field("kbo", org.kbo_display, normalize_kbo),
            value_row(t("detail.created"), fmt_date(org.created_on), "org-created"),
            Static(t("detail.qualite"), classes="section-title", markup=False),
            value_row(t("detail.kind"), qualite_kind(t, q.kind), "kind"),
        ]
        if q.kind == EMPLOYEUR_ONSS:
            widgets.append(field("onss", q.onss_display, normalize_onss))
        widgets.append(value_row(t("detail.created"), fmt_date(q.created_on), "qualite-created"))
        if editable:
            widgets.append(
                Button(t("portal_form.save"), id="save", variant="primary", compact=True)
            )
        else:
            widgets.append(
                Static(t("detail.read_only"), id="read-only", classes="notice", markup=False)
            )
        body = self.query_one("#detail-body", Vertical)
        await body.remove_children()
        await body.mount_all(widgets)
        self.remember_loaded()

    # --- editing ------------------------------------------------------------------------------

    def save(self) -> None:
        if not self.ctx.is_manager:
            return
        self.query_one(StatusLine).show("")
        if check_inputs(self):
            self.saving()
            self.store(
                QualiteChanges(
                    field_value(self, "name"), field_value(self, "kbo"), field_value(self, "onss")
                )
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def store(self, changes: QualiteChanges) -> None:
        from store.access import session_for
        from store.qualites import update_qualite

        try:
            qualite = update_qualite(self.ctx.person.id, self.ctx.qualite.id, changes)
        except ExpeditoError as exc:
            self.post_message(FormFailed(exc))
            return
        self.post_message(self.Saved(qualite, session_for(self.ctx.person.id)))

    def on_form_failed(self, message: FormFailed) -> None:
        report(self, message.error, self.ctx.t, self.query_one(StatusLine))

    async def on_detail_qualite_page_saved(self, message: Saved) -> None:
        self.context_changed(self.ctx.refreshed(message.session))
        self.saved()
        await self.show(message.qualite)
        self.query_one(StatusLine).show(self.t("detail.saved"))
        if self.query("#name"):
            self.query_one("#name", Input).focus()
