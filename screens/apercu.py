"""*Aperçu des données de configuration*: contact person, technical user, each channel with its
status, data, certificate and secured applications; for SFTP, the server's address and host
key fingerprint.

A channel "en cours" shows when the next synchronisation happens, from the app's back office
(``Page.portal_app.back_office.next_slot()``, the header's countdown): the time follows the header's
1-second tick (``App.sync_status``), no timer of its own. When a cycle completes the page
loads its data again (``sync_completed``): the channel shows "actif" without a key press."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from screens.base import Page
from screens.cert_warning import warning_text
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
from store.ops import ExpiringCertificate
from store.service_certificate import ServiceCertificate
from tui.formatting import fmt_date
from tui.i18n import Translator

if TYPE_CHECKING:
    from tui.backoffice import SftpServerInfo, SyncNotice


class NextSync(Static):
    """ "Prochaine synchronisation à 14:30", kept in step with the back office's schedule."""

    def __init__(self, t: Translator, upcoming: datetime, kind: str) -> None:
        self.t = t
        self.text = t("apercu.next_sync", time=f"{upcoming:%H:%M}")
        super().__init__(
            self.text, id=f"next-sync-{kind.lower()}", classes="next-sync", markup=False
        )

    def follow(self, upcoming: datetime) -> None:
        text = self.t("apercu.next_sync", time=f"{upcoming:%H:%M}")
        if text != self.text:  # once per slot at most: no layout each second
            self.text = text
            self.update(text)


def follow_next_sync(page: Page) -> None:
    """Keep the page's ``NextSync`` lines on the back office's next slot (call on mount)."""
    office = page.portal_app.back_office

    def tick(_: object) -> None:
        widgets = list(page.query(NextSync))
        if widgets:
            upcoming = office.next_slot()
            for widget in widgets:
                widget.follow(upcoming)

    page.watch(page.app, "sync_status", tick, init=False)


def next_slot(page: Page) -> datetime:
    """The next synchronisation: the back office's, on the schedule the command line set."""
    return page.portal_app.back_office.next_slot()


def sync_pending_widgets(t: Translator, channel: ChannelInfo, upcoming: datetime) -> list[Widget]:
    """ "La configuration … est en cours" and when the next synchronisation happens."""
    if channel.status != PENDING and not channel.change_pending:
        return []
    key = "apercu.pending" if channel.status == PENDING else "apercu.change_pending"
    return [
        Static(t(key), classes="sync-pending", markup=False),
        NextSync(t, upcoming, channel.kind),
    ]


def server_widgets(t: Translator, server: SftpServerInfo) -> list[Widget]:
    """The SFTP server's address and host key fingerprint (or that it never started)."""
    text = (
        [t("apercu.sftp_server", address=f"{server.address[0]}:{server.address[1]}")]
        if server.address is not None
        else []
    )
    if server.fingerprints:
        text.append(t("apercu.host_key"))
        text += [f"  {fingerprint}" for fingerprint in server.fingerprints]
    else:
        text.append(t("apercu.host_key_missing"))
    return [Static("\n".join(text), id="sftp-server", markup=False)]


def channel_widgets(
    t: Translator, channel: ChannelInfo, upcoming: datetime, server: SftpServerInfo | None = None
) -> list[Widget]:
    """One channel as the overview and its *Canal* page show it."""
    widgets: list[Widget] = [
        Static(kind_label(channel.kind), classes="section-title", markup=False),
        *sync_pending_widgets(t, channel, upcoming),
        Static(channel_data_text(t, channel), markup=False),
    ]
    if server is not None and channel.kind == "SFTP":
        widgets += server_widgets(t, server)
    if channel.certificate is not None:
        widgets.append(Static(certificate_text(t, channel.certificate), markup=False))
    widgets.append(Static(t("channel.applications_heading"), classes="subsection", markup=False))
    widgets.append(
        Static(
            channel_applications_text(t, channel),
            id=f"applications-{channel.kind.lower()}",
            markup=False,
        )
    )
    return widgets


SERVICE_CERTIFICATE_FILE = "expedito-service.cer"


def service_certificate_widgets(t: Translator, service: ServiceCertificate | None) -> list[Widget]:
    """The service's own certificate, which signs each ACRF (``FS.ACRF``): what partners'
    software checks the acknowledgements against; F6 saves it."""
    widgets: list[Widget] = [
        Static(t("apercu.service_cert"), classes="section-title", markup=False)
    ]
    if service is None:
        widgets.append(Static(t("apercu.service_cert_missing"), markup=False))
        return widgets
    text = "\n".join(
        (
            t("apercu.service_cert_note"),
            certificate_text(t, service.summary),
            t("apercu.service_cert_fingerprint", fingerprint=service.fingerprint_sha256),
        )
    )
    widgets.append(Static(text, id="service-certificate", markup=False))
    widgets.append(Button(t("apercu.service_cert_save"), id="save-service-cert", compact=True))
    return widgets


class ApercuPage(Page):
    BINDINGS = [Binding("f6", "save_certificate", "Certificat du service", id="apercu.save_cert")]
    DEFAULT_CSS = """
    ApercuPage #apercu-body { height: auto; }
    ApercuPage .section-title { text-style: bold; color: $primary; margin-top: 1; }
    ApercuPage .subsection { text-style: bold; margin-top: 1; }
    ApercuPage .sync-pending { text-style: bold; color: $warning; }
    ApercuPage .apercu-note { margin-top: 1; color: $text-muted; }
    ApercuPage #apercu-flash { text-style: bold; color: $success; margin-top: 1; }
    """

    service: ServiceCertificate | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.apercu.title"), classes="page-title", markup=False)
        yield Static("", id="apercu-flash", markup=False)
        yield Vertical(id="apercu-body")

    def flash(self, text: str) -> None:
        """As the portal: "• L'expéditeur a bien été créé." above the overview."""
        flash = self.query_one("#apercu-flash", Static)
        flash.update(f"• {text}")
        flash.display = True

    def page_shown(self) -> None:
        self.query_one("#apercu-flash", Static).display = False  # said once
        self.when_settled(self.load)

    def on_mount(self) -> None:
        self.query_one("#apercu-flash", Static).display = False
        if self.app.focused is None and isinstance(self.parent, Widget):
            self.parent.focus()  # e.g. right after the wizard: arrows scroll the overview
        follow_next_sync(self)
        self.load()

    def sync_completed(self, notice: SyncNotice) -> None:
        self.load()  # a channel pending until now may be "actif"

    def action_save_certificate(self) -> None:
        self.save_certificate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save-service-cert":
            event.stop()
            self.save_certificate()

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def save_certificate(self) -> None:
        """Write the service's certificate (DER) to ``~/expedito-service.cer``."""
        service = self.service
        if service is None:
            self.app.call_from_thread(
                self.notify, self.t("apercu.service_cert_missing"), severity="warning"
            )
            return
        target = Path.home() / SERVICE_CERTIFICATE_FILE
        target.write_bytes(service.der)
        self.app.call_from_thread(
            self.notify, self.t("apercu.service_cert_saved", file=str(target)), timeout=10
        )

    def fetch(
        self,
    ) -> tuple[
        Overview | None, SftpServerInfo | None, ServiceCertificate | None, list[ExpiringCertificate]
    ]:
        from store.senders import overview

        data = overview(self.ctx.person.id, self.ctx.qualite.id)
        server = None
        app = self.portal_app
        if data is not None and any(channel.kind == "SFTP" for channel in data.channels):
            server = app.back_office.sftp_server_info(app.db_path)
        from store.service_certificate import service_certificate

        expiring: list[ExpiringCertificate] = []
        if self.ctx.is_manager:
            from screens.cert_warning import expiring_for

            expiring = expiring_for(self.ctx.qualite.id, app.back_office.local_now().date())
        return data, server, service_certificate(), expiring

    async def show(
        self,
        loaded: tuple[
            Overview | None,
            SftpServerInfo | None,
            ServiceCertificate | None,
            list[ExpiringCertificate],
        ],
    ) -> None:
        t, (overview, server, self.service, expiring) = self.ctx.t, loaded
        body = self.query_one("#apercu-body", Vertical)
        await body.remove_children()
        if overview is None:
            await body.mount(Static(t("messages.no_sender"), classes="notice", markup=False))
            return
        sender = overview.sender
        widgets: list[Widget] = (
            [
                Static(
                    warning_text(t, expiring),
                    id="cert-warning",
                    classes="sync-pending",
                    markup=False,
                )
            ]
            if expiring
            else []
        )
        widgets += [
            Static(t("apercu.contact"), classes="section-title", markup=False),
            Static(
                contact_text(t, overview.contact) if overview.contact else "-",
                id="apercu-contact",
                markup=False,
            ),
            Static(t("apercu.technical_user"), classes="section-title", markup=False),
            Static(
                lines(
                    (
                        (t("apercu.number"), str(sender.number)),
                        (t("apercu.registered_on"), fmt_date(sender.registered_on)),
                        (t("user.name"), sender.technical_user),
                    )
                ),
                id="apercu-sender",
                markup=False,
            ),
            Static(t("apercu.note"), classes="apercu-note", markup=False),
        ]
        upcoming = next_slot(self)
        for channel in overview.channels:
            widgets += channel_widgets(t, channel, upcoming, server)
        widgets += service_certificate_widgets(t, self.service)
        await body.mount_all(widgets)
