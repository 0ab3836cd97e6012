"""The drop-down of every form: Textual's ``Select``, safe while it is mounted or removed.

Textual's ``SelectCurrent.update`` looks up its ``#label`` child at once; when the ``Select``
is given its value while that child is not there (a page built ahead being mounted as the app
quits or the page is dropped, under load), it raises ``NoMatches`` and the app ends
(Textualize/textual#6581, open). Here the label is kept and drawn when the child is there.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Select, Static
from textual.widgets._select import NoSelection, SelectCurrent, SelectOverlay, SelectType


class SafeCurrent(SelectCurrent):
    """The shown value of a ``PortalSelect``: drawn now if its label is mounted, else on mount."""

    def update(self, label: RenderableType | NoSelection) -> None:
        self.label = label
        self.has_value = label is not Select.NULL
        try:
            shown = self.query_one("#label", Static)
        except NoMatches:  # not mounted yet, or already removed: on_mount draws it
            return
        shown.update(self.placeholder if isinstance(label, NoSelection) else label)

    def on_mount(self) -> None:
        self.update(self.label)


class PortalSelect(Select[SelectType]):
    """``Select`` with ``SafeCurrent`` (the rest of it as Textual's)."""

    def compose(self) -> ComposeResult:
        yield SafeCurrent(self.prompt)
        yield SelectOverlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)
