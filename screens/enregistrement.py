"""*Enregistrement des données de configuration*: the wizard *Création d'un utilisateur
technique* for a qualité without an active sender.

Built ahead after login, the page loads the wizard's setup but imports the wizard's widgets
(``screens.wizard.wizard``: its forms, steps and credential fields) when it first shows one;
its queries name the wizard by its type name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from screens.base import Page
from screens.wizard.setup import REGISTER, WizardSetup, load_setup
from store.dto import SenderStatus
from tui.context import AppContext

if TYPE_CHECKING:
    from screens.wizard.wizard import Wizard

WIZARD = "Wizard"  # the wizard's type, as a query names it (the class is imported to mount one)


class EnregistrementPage(Page):
    KEEP_ON_LANGUAGE_CHANGE = True  # the wizard is built again in the new language, as filled
    DEFAULT_CSS = """
    EnregistrementPage { height: 1fr; }
    EnregistrementPage #enregistrement-body { height: 1fr; }
    """

    _waiting: WizardSetup | None = None  # loaded while hidden: the wizard to mount when shown

    def compose(self) -> ComposeResult:
        yield Vertical(id="enregistrement-body")

    def on_mount(self) -> None:
        self.load()

    def fetch(self) -> tuple[WizardSetup | None, SenderStatus]:
        from store.senders import sender_status

        status = sender_status(self.ctx.qualite.id)
        setup = (
            None
            if status.has_active_sender
            else load_setup(self.ctx.person.id, self.ctx.qualite.id, REGISTER, "SFTP", self.ctx.t)
        )
        return setup, status

    async def show(self, loaded: tuple[WizardSetup | None, SenderStatus]) -> None:
        setup, status = loaded
        self._waiting = None
        body = self.query_one("#enregistrement-body", Vertical)
        if setup is None:
            await body.mount(
                Static(
                    self.t("wizard.already_registered", number=status.number),
                    classes="notice",
                    markup=False,
                )
            )
            return
        if not self.display:  # built ahead: the wizard's 118 widgets wait for the first visit
            self._waiting = setup
            return
        await self._mount_wizard(setup)

    async def _mount_wizard(self, setup: WizardSetup) -> None:
        from screens.wizard.wizard import Wizard

        await self.query_one("#enregistrement-body", Vertical).mount(Wizard(self.ctx, setup))
        self.screen.refresh_bindings()

    def key_owners(self) -> list[Widget]:
        return [*self.query(WIZARD), self]  # F6–F8 of the wizard under way too

    def unsaved_input(self) -> bool:
        return bool(self.query(WIZARD))  # a wizard under way: it asks (like F8)

    def ask_to_leave(self, leave: Callable[[], Awaitable[None]]) -> None:
        self.query_one(WIZARD, _wizard_class()).action_cancel()

    def language_changed(self, ctx: AppContext) -> None:
        super().language_changed(ctx)
        self.call_later(self._relabel)

    async def _relabel(self) -> None:
        """Everything in the new language, and nothing typed lost."""
        body = self.query_one("#enregistrement-body", Vertical)
        self._waiting = None  # loaded again below, in the new language
        rebuilt = False
        if self.query(WIZARD):
            from screens.wizard.wizard import rebuild_wizard

            rebuilt = await rebuild_wizard(body, self.ctx)
        if not rebuilt:
            await body.remove_children()  # the notice, or still loading: load it again
            self.load()
            return
        self.screen.refresh_bindings()

    def page_shown(self) -> None:
        """Built ahead and hidden, the page mounts its wizard now, which takes the keyboard
        (a wizard already there left the keyboard alone while hidden: it takes it now)."""
        if self._waiting is not None:
            setup, self._waiting = self._waiting, None
            self.call_later(self._mount_wizard, setup)
            return
        if wizards := self.query(WIZARD):
            for wizard in wizards.results(_wizard_class()):
                self.call_after_refresh(wizard.focus_step)

    def on_wizard_done(self, message: Wizard.Done) -> None:
        message.stop()
        self.sender_changed()
        self.open_page("apercu", discard=True, flash=self.t("wizard.done.register"))

    def on_wizard_cancelled(self, message: Wizard.Cancelled) -> None:
        message.stop()
        self.notify(self.t("wizard.cancelled"))
        self.open_page("messages", discard=True)


def _wizard_class() -> type[Wizard]:
    """The wizard's class, for a query that found one (so it is imported already)."""
    from screens.wizard.wizard import Wizard

    return Wizard
