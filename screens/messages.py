"""*Messages structurés*: is there an active sender, and what can this person do about it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Static

from screens.base import Page
from store.dto import SenderStatus


class MessagesPage(Page):
    def compose(self) -> ComposeResult:
        yield Static(self.t("page.messages.title"), classes="page-title", markup=False)
        yield Vertical(id="messages-body")

    def on_mount(self) -> None:
        self.load()

    def page_shown(self) -> None:
        self.when_settled(self.load)  # once it stays: its sender may have changed

    def fetch(self) -> SenderStatus:
        from store.senders import sender_status

        return sender_status(self.ctx.qualite.id)

    async def show(self, status: SenderStatus) -> None:
        body = self.query_one("#messages-body", Vertical)
        await body.remove_children()
        widgets: list[Static | Button] = []
        if status.has_active_sender:
            widgets.append(
                Static(
                    self.t(
                        "messages.active",
                        number=status.number,
                        user=status.technical_user,
                        channels=", ".join(status.channel_kinds) or "-",
                    ),
                    markup=False,
                    id="messages-status",
                )
            )
            widgets.append(Button(self.t("page.apercu.title"), id="open-apercu"))
        else:
            widgets.append(
                Static(
                    self.t("messages.no_sender"),
                    markup=False,
                    id="messages-status",
                    classes="notice",
                )
            )
            if self.ctx.is_manager:
                widgets.append(Static(self.t("messages.click_register"), markup=False))
                widgets.append(
                    Button(
                        self.t("page.enregistrement.title"),
                        id="open-enregistrement",
                        variant="primary",
                    )
                )
        if not self.ctx.is_manager:
            widgets.append(
                Static(
                    self.t("messages.managers_only"),
                    markup=False,
                    id="managers-only",
                    classes="notice",
                )
            )
        await body.mount_all(widgets)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id and event.button.id.startswith("open-"):
            self.open_page(event.button.id.removeprefix("open-"))
