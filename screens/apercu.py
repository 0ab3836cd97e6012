"""*Aperçu des données de configuration*: contact person, technical user, each channel with its
status, data, certificate and secured applications."""

from __future__ import annotations

from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from screens import sync_time
from screens.base import Page
from screens.summary import (
    certificate_text,
    channel_applications_text,
    channel_data_text,
    contact_text,
    kind_label,
    lines,
)
from store.dto import ChannelInfo, Overview
from store.models import PENDING
from tui.formatting import fmt_date
from tui.i18n import Translator


def sync_pending_widgets(t: Translator, channel: ChannelInfo, now: datetime) -> list[Widget]:
    """"La configuration … est en cours" and when the next synchronisation happens.

    The ``.next-sync`` Static is where the sync worker's live countdown goes.
    """
    if channel.status != PENDING and not channel.change_pending:
        return []
    upcoming = sync_time.next_sync(now)
    minutes = max(1, int((upcoming - now).total_seconds() + 59) // 60)
    key = "apercu.pending" if channel.status == PENDING else "apercu.change_pending"
    return [
        Static(t(key), classes="sync-pending", markup=False),
        Static(t("apercu.next_sync", time=upcoming.strftime("%H:%M"), minutes=minutes),
               id=f"next-sync-{channel.kind.lower()}", classes="next-sync", markup=False),
    ]


def channel_widgets(t: Translator, channel: ChannelInfo, now: datetime) -> list[Widget]:
    """One channel as the overview and its *Canal* page show it."""
    widgets: list[Widget] = [
        Static(kind_label(channel.kind), classes="section-title", markup=False),
        *sync_pending_widgets(t, channel, now),
        Static(channel_data_text(t, channel), markup=False),
    ]
    if channel.certificate is not None:
        widgets.append(Static(certificate_text(t, channel.certificate), markup=False))
    widgets.append(Static(t("channel.applications_heading"), classes="subsection",
                          markup=False))
    widgets.append(Static(channel_applications_text(t, channel),
                          id=f"applications-{channel.kind.lower()}", markup=False))
    return widgets


class ApercuPage(Page):
    DEFAULT_CSS = """
    ApercuPage #apercu-body { height: auto; }
    ApercuPage .section-title { text-style: bold; color: $primary; margin-top: 1; }
    ApercuPage .subsection { text-style: bold; margin-top: 1; }
    ApercuPage .sync-pending { text-style: bold; color: $warning; }
    ApercuPage .apercu-note { margin-top: 1; color: $text-muted; }
    """

    class Loaded(Message):
        def __init__(self, overview: Overview | None, now: datetime) -> None:
            super().__init__()
            self.overview, self.now = overview, now

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.apercu.title"), classes="page-title", markup=False)
        yield Vertical(id="apercu-body")

    def on_mount(self) -> None:
        if self.app.focused is None and isinstance(self.parent, Widget):
            self.parent.focus()  # e.g. right after the wizard: arrows scroll the overview
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from store.senders import overview

        self.post_message(self.Loaded(overview(self.ctx.person.id, self.ctx.qualite.id),
                                      sync_time.now()))

    async def on_apercu_page_loaded(self, message: Loaded) -> None:
        t, overview = self.ctx.t, message.overview
        body = self.query_one("#apercu-body", Vertical)
        await body.remove_children()
        if overview is None:
            await body.mount(Static(t("messages.no_sender"), classes="notice", markup=False))
            return
        sender = overview.sender
        widgets: list[Widget] = [
            Static(t("apercu.contact"), classes="section-title", markup=False),
            Static(contact_text(t, overview.contact) if overview.contact else "-",
                   id="apercu-contact", markup=False),
            Static(t("apercu.technical_user"), classes="section-title", markup=False),
            Static(lines(((t("apercu.number"), str(sender.number)),
                          (t("apercu.registered_on"), fmt_date(sender.registered_on)),
                          (t("user.name"), sender.technical_user))),
                   id="apercu-sender", markup=False),
            Static(t("apercu.note"), classes="apercu-note", markup=False),
        ]
        for channel in overview.channels:
            widgets += channel_widgets(t, channel, message.now)
        await body.mount_all(widgets)
