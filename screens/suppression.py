"""*Suppression de l'envoi par messages structurés*: what happens, a confirmation, the deletion.
The sender number and the technical user name are kept for a later return."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Static

from screens import sync_time
from screens.base import Page
from screens.summary import kind_label
from store.dto import SenderInfo, SenderStatus
from store.errors import ExpeditoError
from tui.widgets.dialogs import ConfirmDialog


class SuppressionPage(Page):
    DEFAULT_CSS = """
    SuppressionPage #suppression-body { height: auto; }
    SuppressionPage #suppression-body Static { margin-bottom: 1; }
    SuppressionPage #suppression-delete { margin-top: 1; }
    """
    BINDINGS = [
        Binding("f8", "delete", "Supprimer", id="suppression.delete"),
    ]

    class Deleted(Message):
        def __init__(self, sender: SenderInfo | None, error: ExpeditoError | None) -> None:
            super().__init__()
            self.sender, self.error = sender, error

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.suppression.title"), classes="page-title", markup=False)
        yield Vertical(id="suppression-body")

    def on_mount(self) -> None:
        self.status: SenderStatus | None = None
        self.load()

    def fetch(self) -> SenderStatus:
        from store.senders import sender_status

        return sender_status(self.ctx.qualite.id)

    async def show(self, status: SenderStatus) -> None:
        t = self.ctx.t
        self.status = status
        body = self.query_one("#suppression-body", Vertical)
        await body.remove_children()
        if not status.has_active_sender:
            await body.mount(Static(t("messages.no_sender"), classes="notice", markup=False))
            return
        channels = ", ".join(kind_label(k) for k in status.channel_kinds) or "-"
        await body.mount_all(
            [
                Static(
                    t(
                        "suppression.what",
                        number=status.number,
                        user=status.technical_user,
                        channels=channels,
                    ),
                    id="suppression-what",
                    markup=False,
                ),
                Static(t("suppression.revoked"), markup=False),
                Static(
                    t("suppression.kept", number=status.number, user=status.technical_user),
                    markup=False,
                ),
                Button(
                    t("suppression.button"), id="suppression-delete", variant="error", compact=True
                ),
            ]
        )
        self.screen.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete":
            return (
                self.ctx.is_manager
                and getattr(self, "status", None) is not None
                and bool(self.status and self.status.has_active_sender)
            )
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "suppression-delete":
            event.stop()
            self.action_delete()

    def action_delete(self) -> None:
        if not self.check_action("delete", ()):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_sender()

        t = self.ctx.t
        self.app.push_screen(
            ConfirmDialog(t("suppression.question"), t("suppression.yes"), t("suppression.no")),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False)
    def delete_sender(self) -> None:
        from store.senders import delete_sender

        try:
            sender = delete_sender(self.ctx.person.id, self.ctx.qualite.id, now=sync_time.now(self))
        except ExpeditoError as exc:
            self.post_message(self.Deleted(None, exc))
            return
        self.post_message(self.Deleted(sender, None))

    def on_suppression_page_deleted(self, message: Deleted) -> None:
        if message.error is not None or message.sender is None:
            if message.error is not None:
                self.show_error(message.error)
            return
        self.notify(self.t("suppression.done", number=message.sender.number), timeout=10)
        self.sender_changed()
        self.open_page("messages", discard=True)
