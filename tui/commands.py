"""The command palette (ctrl+p) reaches every page of the sidebar, the languages, the
qualité switch and Quit — in the user's language, Textual's own words included (its search
placeholder and its "No matches found")."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.widgets.option_list import Option

from tui.context import portal_app
from tui.i18n import LANGUAGE_NAMES, LANGUAGES, Translator


class PortalCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = portal_app(self.app)
        t = Translator(app.lang)
        commands: list[tuple[str, Callable[[], Any], str]] = []
        if pages := app.portal_pages():
            from screens.registry import PAGES

            for page_id in pages:
                title = t(PAGES[page_id].title_key)
                commands.append(
                    (
                        t("command.open", page=title),
                        partial(app.open_page, page_id),
                        t(PAGES[page_id].help_key),
                    )
                )
        if app.has_other_qualites():
            commands.append((t("key.shell.qualite"), app.action_switch_qualite, t("help.qualite")))
        for lang in LANGUAGES:
            commands.append(
                (
                    t("command.language", language=LANGUAGE_NAMES[lang]),
                    partial(app.action_language, lang),
                    lang.upper(),
                )
            )
        commands.append((t("key.app.help"), app.action_help, "F1"))
        commands.append((t("key.app.quit"), app.action_quit, "F10"))
        return commands

    async def discover(self) -> Hits:
        for text, callback, help_text in self._commands():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)


class PortalCommandPalette(CommandPalette):
    """Textual's palette, its English words in the user's language."""

    def __init__(self, t: Translator) -> None:
        super().__init__(placeholder=t("palette.placeholder"), id="--command-palette")
        self.no_matches = t("palette.no_matches")

    def _start_no_matches_countdown(self, search_value: str) -> None:
        """As Textual's, with the words translated: after a moment without a match, say so
        (only for a search: an empty one lists what there is)."""
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(self.no_matches, style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
