"""A page that a later issue fills in: it says what it will hold and that it is not ready."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import Page


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
    """Shown instead of a page that only the local managers may open."""

    def compose(self) -> ComposeResult:
        yield Static(self.t(f"page.{self.page_id}.title"), classes="page-title", markup=False)
        yield Static(self.t("messages.managers_only"), classes="notice", markup=False)
