"""The forms' drop-down (``tui.widgets.select.PortalSelect``): given a value while its label
is not mounted (a page built ahead, mounted as the app quits), it keeps it and draws it once
mounted, instead of ending the app (Textualize/textual#6581)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.widgets.select import PortalSelect, SafeCurrent

TITLES = [("Monsieur", "Mr"), ("Madame", "Mrs")]


class OneSelect(App[None]):
    def compose(self) -> ComposeResult:
        yield PortalSelect(TITLES, value="Mr", allow_blank=False, id="title")


def test_a_value_given_before_the_label_is_mounted_is_kept() -> None:
    current = SafeCurrent("Choisir")
    current.update("Madame")  # Textual's own SelectCurrent raises NoMatches here
    assert current.label == "Madame" and current.has_value


async def test_the_value_is_drawn_once_mounted_and_follows_changes() -> None:
    app = OneSelect()
    async with app.run_test(size=(40, 6)) as pilot:
        select = app.query_one(PortalSelect)
        current = select.query_one(SafeCurrent)
        label = current.query_one("#label", Static)
        assert str(label.render()) == "Monsieur"
        select.value = "Mrs"
        await pilot.pause()
        assert str(label.render()) == "Madame"
        await select.remove()  # and a value given while it goes does not end the app
        current.update("Monsieur")
        await pilot.pause()
        assert app.is_running
