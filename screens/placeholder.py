"""A page that a later issue fills in: it says what it will hold and that it is not ready."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import Page
from tui.i18n import has_key


class PlaceholderPage(Page):
    def compose(self) -> ComposeResult:
        yield Static(self.t(f"page.{self.page_id}.title"), classes="page-title", markup=False)
        yield Static(
            self.t("placeholder.holds", holds=self.t(f"page.{self.page_id}.holds")),
            classes="block",
            markup=False,
        )
        yield Static(self.t("placeholder.not_available"), classes="notice", markup=False)


class DeniedPage(Page):
    """Shown instead of a page that only the local managers may open, with the same refusal
    as every page ("Il n'y a que le gestionnaire local et le co-gestionnaire local de la
    qualité qui peuvent …"): ``<page>.managers_only``, else the guide's about opening a
    channel."""

    def compose(self) -> ComposeResult:
        key = f"{self.page_id}.managers_only"
        yield Static(self.t(f"page.{self.page_id}.title"), classes="page-title", markup=False)
        yield Static(
            self.t(key if has_key(key) else "messages.managers_only"),
            id="managers-only",
            classes="notice",
            markup=False,
        )
