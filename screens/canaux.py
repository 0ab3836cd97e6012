"""*Canaux* › *Canal SFTP / FTP / MQLink / Web Service*: view the channel; local managers add
(the wizard *Ajout d'un canal*), modify or remove it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from screens import sync_time
from screens.apercu import channel_widgets, follow_next_sync, next_slot
from screens.base import Page
from screens.summary import PAGE_KINDS, kind_label
from screens.wizard.setup import ADD, MODIFY, WizardSetup, load_setup
from screens.wizard.wizard import Wizard, rebuild_wizard
from store.dto import ChannelInfo, Overview
from store.errors import ExpeditoError
from tui.context import AppContext
from tui.widgets.dialogs import ConfirmDialog

if TYPE_CHECKING:
    from tui.backoffice import SyncNotice


class CanalPage(Page):
    KEEP_ON_LANGUAGE_CHANGE = True  # a channel being added or changed keeps what was typed
    DEFAULT_CSS = """
    CanalPage #canal-body { height: auto; }
    CanalPage.-wizard { height: 1fr; }
    CanalPage.-wizard #canal-body { height: 1fr; }
    CanalPage .section-title { text-style: bold; color: $primary; margin-top: 1; }
    CanalPage .subsection { text-style: bold; margin-top: 1; }
    CanalPage .sync-pending { text-style: bold; color: $warning; }
    CanalPage #canal-actions { height: auto; margin-top: 1; }
    CanalPage #canal-actions Button { margin-right: 1; }
    """
    BINDINGS = [
        Binding("f6", "add", "Ajouter", id="canal.add"),
        Binding("f7", "modify", "Modifier", id="canal.modify"),
        Binding("f8", "remove", "Supprimer", id="canal.remove"),
    ]

    class SetupLoaded(Message):
        def __init__(self, setup: WizardSetup) -> None:
            super().__init__()
            self.setup = setup

    class Removed(Message):
        def __init__(self, error: ExpeditoError | None) -> None:
            super().__init__()
            self.error = error

    def __init__(self, ctx: AppContext, page_id: str) -> None:
        super().__init__(ctx, page_id)
        self.kind = PAGE_KINDS[self.page_id]
        self.overview: Overview | None = None
        self.channel: ChannelInfo | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(self.t(f"page.{self.page_id}.title"), classes="page-title", markup=False)
        yield Vertical(id="canal-body")

    def on_mount(self) -> None:
        follow_next_sync(self)
        self.load()

    def page_shown(self) -> None:
        self.when_settled(self._reload)

    def _reload(self) -> None:
        if not self._wizard_shown():  # a channel being added or changed is left alone
            self.load()

    def key_owners(self) -> list[Widget]:
        return [*self.query(Wizard), self]  # F6–F8 of the wizard under way too

    def unsaved_input(self) -> bool:
        return bool(self.query(Wizard))  # a wizard under way: it asks (like F8)

    def ask_to_leave(self, leave: Callable[[], Awaitable[None]]) -> None:
        self.query_one(Wizard).action_cancel()

    def language_changed(self, ctx: AppContext) -> None:
        super().language_changed(ctx)
        self.call_later(self._relabel)

    async def _relabel(self) -> None:
        """In the new language; a channel being added or changed keeps what was typed."""
        self.query_one(".page-title", Static).update(self.t(f"page.{self.page_id}.title"))
        if await rebuild_wizard(self.query_one("#canal-body", Vertical), self.ctx):
            self.screen.refresh_bindings()
        else:
            self.load()

    def sync_completed(self, notice: SyncNotice) -> None:
        if not self._wizard_shown():  # a modification under way is left alone
            self.load()  # a channel pending until now may be "actif"

    def fetch(self) -> Overview | None:
        from store.senders import overview

        return overview(self.ctx.person.id, self.ctx.qualite.id)

    async def show(self, overview: Overview | None) -> None:
        t = self.ctx.t
        self.overview = overview
        self.channel = (
            next((c for c in overview.channels if c.kind == self.kind), None) if overview else None
        )
        self.loaded = True
        self.remove_class("-wizard")
        self.query_one(".page-title").display = True
        body = self.query_one("#canal-body", Vertical)
        await body.remove_children()
        widgets: list[Widget] = []
        manager = self.ctx.is_manager
        label = kind_label(self.kind)
        if overview is None:
            widgets.append(Static(t("messages.no_sender"), classes="notice", markup=False))
        elif self.channel is None:
            widgets.append(
                Static(t("canal.none", kind=label), id="canal-none", classes="notice", markup=False)
            )
            if manager:
                widgets.append(
                    Horizontal(
                        Button(
                            t("canal.add", kind=label),
                            id="canal-add",
                            variant="primary",
                            compact=True,
                        ),
                        id="canal-actions",
                    )
                )
        else:
            widgets += channel_widgets(t, self.channel, next_slot(self))
            if manager:
                widgets.append(
                    Horizontal(
                        Button(
                            t("canal.modify"), id="canal-modify", variant="primary", compact=True
                        ),
                        Button(t("canal.remove"), id="canal-remove", variant="error", compact=True),
                        id="canal-actions",
                    )
                )
        if not manager and overview is not None:
            widgets.append(
                Static(
                    t("messages.managers_only"), id="managers-only", classes="notice", markup=False
                )
            )
        await body.mount_all(widgets)
        self.screen.refresh_bindings()

    # --- actions ------------------------------------------------------------------------------

    def _wizard_shown(self) -> bool:
        return bool(self.query(Wizard))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add", "modify", "remove"):
            if not (
                self.ctx.is_manager
                and self.loaded
                and self.overview is not None
                and not self._wizard_shown()
            ):
                return False
            return (self.channel is None) == (action == "add")
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "canal-add": self.action_add,
            "canal-modify": self.action_modify,
            "canal-remove": self.action_remove,
        }
        if event.button.id in actions:
            event.stop()
            actions[event.button.id]()

    def action_add(self) -> None:
        if self.check_action("add", ()):
            self.load_wizard(ADD)

    def action_modify(self) -> None:
        if self.check_action("modify", ()):
            self.load_wizard(MODIFY)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_wizard(self, mode: str) -> None:
        setup = load_setup(self.ctx.person.id, self.ctx.qualite.id, mode, self.kind, self.ctx.t)
        self.post_message(self.SetupLoaded(setup))

    async def on_canal_page_setup_loaded(self, message: SetupLoaded) -> None:
        body = self.query_one("#canal-body", Vertical)
        await body.remove_children()
        self.add_class("-wizard")
        self.query_one(".page-title").display = False
        await body.mount(Wizard(self.ctx, message.setup))
        self.screen.refresh_bindings()

    def on_wizard_done(self, message: Wizard.Done) -> None:
        message.stop()
        self.notify(self.t(f"wizard.done.{message.mode}", kind=kind_label(self.kind)), timeout=10)
        self.sender_changed()
        self.load()

    def on_wizard_cancelled(self, message: Wizard.Cancelled) -> None:
        message.stop()
        self.notify(self.t("wizard.cancelled"))
        self.load()

    def action_remove(self) -> None:
        if not self.check_action("remove", ()):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_channel()

        t, label = self.ctx.t, kind_label(self.kind)
        self.app.push_screen(
            ConfirmDialog(
                t("canal.remove_question", kind=label), t("canal.remove_yes"), t("canal.remove_no")
            ),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False)
    def delete_channel(self) -> None:
        from store.senders import remove_channel

        try:
            remove_channel(
                self.ctx.person.id, self.ctx.qualite.id, self.kind, now=sync_time.now(self)
            )
        except ExpeditoError as exc:
            self.post_message(self.Removed(exc))
            return
        self.post_message(self.Removed(None))

    def on_canal_page_removed(self, message: Removed) -> None:
        if message.error is not None:
            self.show_error(message.error)
            return
        self.notify(self.t("canal.removed", kind=kind_label(self.kind)))
        self.sender_changed()
        self.load()
