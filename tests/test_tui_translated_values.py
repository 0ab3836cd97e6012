"""What Textual would say in English, and the drop-downs' values, in the user's language: the
command palette's placeholder and "No matches found", the drop-down's Escape in the footer,
Ctrl+C's hint; the contact person's *Titre* and *Régime linguistique*."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Select

from screens.wizard.wizard import Wizard
from tests.support.pilot import settle
from tests.support.portal import choose_in_menu, enter_portal
from tests.support.screen import SIZE
from tui.app import ExpeditoApp
from tui.widgets.footer import PortalFooter


def results(pilot: Pilot[None]) -> str:
    """What the palette's list shows."""
    found = pilot.app.screen.query(CommandList)
    if not found:
        return ""
    results = found.first()
    return "\n".join(results.render_line(y).text for y in range(results.size.height))


def options(select: Select[str]) -> list[str]:
    return [str(prompt) for prompt, _value in select._options]


async def test_the_command_palette_speaks_the_users_language(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await pilot.press("f2")  # Nederlands
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        assert palette.query_one("#--input Input", Input).placeholder == "Een opdracht zoeken…"
        # Textual's own commands (Screenshot, Theme… in English) are not offered.
        await pilot.press(*"screenshot")
        for _ in range(20):  # "no match" shows half a second after the search
            await pilot.pause(0.1)
            if "Geen opdracht gevonden" in results(pilot):
                break
        text = results(pilot)
        assert "Geen opdracht gevonden" in text and "No matches" not in text, text
        assert "Screenshot" not in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+c")  # copies; says which key quits
        await pilot.pause()
        notices = [str(n.message) for n in app._notifications]
        assert "Druk op f10 om af te sluiten." in notices, notices


async def test_contact_titles_and_languages_in_each_language(app: ExpeditoApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await enter_portal(pilot)
        await choose_in_menu(pilot, "enregistrement")
        await pilot.press("f7")  # Personne de contact
        await settle(pilot)
        expected = {
            "fr": (["Mr", "Mme"], ["Français", "Néerlandais", "Allemand"]),
            "nl": (["Dhr.", "Mevr."], ["Frans", "Nederlands", "Duits"]),
            "de": (["Herr", "Frau"], ["Französisch", "Niederländisch", "Deutsch"]),
            "en": (["Mr", "Ms"], ["French", "Dutch", "German"]),
        }
        for lang, (titles, languages) in expected.items():
            assert app.lang == lang
            wizard = app.screen.query_one(Wizard)
            assert options(wizard.query_one("#contact-title", Select)) == titles
            assert options(wizard.query_one("#contact-language", Select)) == languages
            await pilot.press("f2")
            await settle(pilot)
        # The drop-down opened: its Escape in the footer is in the user's language too.
        title = app.screen.query_one("#contact-title", Select)
        title.focus()
        await pilot.press("enter")
        await settle(pilot)
        footer = app.screen.query_one(PortalFooter)
        drawn = " ".join(footer.render_line(y).text for y in range(footer.size.height))
        assert "esc Fermer la liste" in drawn and "Dismiss" not in drawn
