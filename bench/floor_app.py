"""The floor for bench/startup.py: the cheapest page switch Textual can make.

Header, a sidebar (one Static), a page area holding ten pages built ahead (one Static of 18
lines each, the size of a page of Expedito's at 80x24) and Footer. ``n`` hides the page on show
and shows the next one, as Expedito's sidebar does; no data is loaded, no widget is built.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Static

PAGES = 10
TEXT = "\n".join(
    f"Ligne {i} de la page, un texte de la largeur d'un paragraphe" for i in range(1, 18)
)
MENU = "\n".join(f"Page {i}" for i in range(PAGES + 1))


class FloorApp(App[None]):
    CSS = "#menu { width: 24; } #area { width: 1fr; }"
    BINDINGS = [Binding("n", "next", "Next", id="next")]

    def __init__(self) -> None:
        super().__init__()
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield Static(MENU, id="menu")
            with VerticalScroll(id="area"):
                for i in range(PAGES + 1):
                    page = Static(f"Page {i} shown\n{TEXT}", id=f"page-{i}")
                    page.display = i == 0
                    yield page
        yield Footer()

    def action_next(self) -> None:
        if self.shown < PAGES:
            self.query_one(f"#page-{self.shown}").display = False
            self.shown += 1
            self.query_one(f"#page-{self.shown}").display = True


if __name__ == "__main__":
    FloorApp().run()
