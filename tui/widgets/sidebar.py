"""The sidebar *Fonctionnalités*: section headings and the pages they hold.

Arrows move, Enter opens; headings without a page are skipped. Long labels wrap. The lines
are ``MenuItem``s (a catalogue key, a page id, a level): which pages there are is the page
registry's to say (``screens.registry.menu``), not the widget's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from rich.padding import Padding
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import Translator

INDENT = {0: 0, 1: 2, 2: 4}


@dataclass(frozen=True)
class MenuItem:
    """One line of the sidebar: a page to open (``page``), or a heading (``page`` is None)."""

    label_key: str
    page: str | None
    level: int  # 0 section, 1 item, 2 sub-item


class MenuList(OptionList):
    """The list of the sidebar: Enter opens the page itself, rather than posting
    ``OptionSelected`` for the sidebar to post ``PageChosen`` to the screen (two message hops
    on the way from the key to the page). Not a priority binding: Textual would run it on its
    first look at the key, ahead of a Down typed just before it and still on its way."""

    BINDINGS = [Binding("enter", "open", "Ouvrir", show=False, id="menu.open")]

    highlighted: reactive[int | None] = reactive(None, repaint=False)
    """OptionList's, without repainting the whole list when it moves: only the lines of the
    option left and of the one reached are drawn again (``_watch_highlighted``), not the
    whole list and its scrollbar at each arrow and page opened (``bench/startup.py``)."""

    def _watch_highlighted(self, old: int | None, new: int | None) -> None:
        lines, heights = self._index_to_line, self._heights
        for index in {old, new}:
            if index is not None and index in lines:
                self.refresh_lines(lines[index], heights[index])

    def watch_highlighted(self, highlighted: int | None) -> None:
        """OptionList's, without posting ``OptionHighlighted``: nothing listens to it, and it
        went up through the sidebar, the body, the screen and the app at each arrow."""
        if highlighted is not None and not self.get_option_at_index(highlighted).disabled:
            self.scroll_to_highlight()

    def __init__(self, open_page: Callable[[str], Awaitable[None]], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._open_page = open_page

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Textual's, skipped when the list keeps its size: the screen's layout hands a
        scroll view the size of its window as its virtual size, which never equals the list's
        own, and the list then drew its scrollbar again at every page opened (the options,
        when they change, update the scrollbar themselves)."""
        if size == self._size and container_size == self.container_size:
            return False
        return super()._size_updated(size, virtual_size, container_size, layout)

    async def _on_key(self, event: events.Key) -> None:
        """Run the list's own binding of a key (arrows, Home, End, PageUp, PageDown, Enter)
        here, where it first arrives, rather than once it has bubbled up to the app, which is
        where Textual runs the bindings of the focused widget and its ancestors: the sidebar,
        the body, the screen and the app, five message hops on the way of each arrow and
        Enter (``bench/startup.py``). The same binding, found the same way (the keymap's
        keys); a key bound by the screen or the app goes up as before (F3 replaces the screen,
        and with it the list, which must not be the one running it). Keys come here one after
        the other: a Down typed just before Enter has moved the highlight when Enter opens
        the page."""
        await super()._on_key(event)
        if event._stop_propagation:
            return
        chain = self.screen._modal_binding_chain
        if not chain or chain[0][0] is not self:
            return
        for binding in chain[0][1].key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return

    def action_page_down(self) -> None:
        self._move_by_page(1)

    def action_page_up(self) -> None:
        self._move_by_page(-1)

    def _move_by_page(self, direction: int) -> None:
        """A page of options down or up, to the nearest item that opens a page. Textual's own
        reads a line map built when the list is painted: on a hidden list whose items just
        changed (F4, then a sender created) it raised KeyError and ended the app."""
        count = self.option_count
        if not count:
            return
        step = max(1, self.scrollable_content_region.height - 1) * direction
        start = self.highlighted if self.highlighted is not None else 0
        target = min(max(start + step, 0), count - 1)
        order = (
            [*range(target, count), *reversed(range(target))]
            if direction > 0
            else [*reversed(range(target + 1)), *range(target + 1, count)]
        )
        for index in order:
            if not self.get_option_at_index(index).disabled:
                self.highlighted = index
                return

    def draw_ahead(self) -> None:
        """Draw each item as the highlight shows it and as it shows without it, into the
        list's own cache of options drawn (Textual's ``OptionList._get_option_render``): the
        first arrow onto an item (or off it, for the item highlighted at first and the items
        scrolled into view) drew its label anew through Rich (a padded, wrapped ``Text``),
        0.5-1 ms of the frame of the page it opened (``bench/startup.py``). Once the work
        after login is done."""
        if not self.scrollable_content_region:
            return
        plain = self.get_visual_style("option-list--option")
        highlighted = self.get_visual_style(
            "option-list--option", "option-list--option-highlighted"
        )
        for option in self.options:
            if not option.disabled:
                self._get_option_render(option, plain)
                self._get_option_render(option, highlighted)

    async def action_open(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id and not option.disabled:
            await self._open_page(option.id)


class Sidebar(Widget):
    DEFAULT_CSS = """
    Sidebar {
        width: 34;
        height: 1fr;
        border-right: vkey $primary;
    }
    Sidebar #sidebar-title { text-style: bold; padding: 0 1; color: $primary; }
    Sidebar OptionList { height: 1fr; border: none; padding: 0; }
    Sidebar OptionList:focus { border: none; }
    """

    class PageChosen(Message):
        def __init__(self, page_id: str) -> None:
            super().__init__()
            self.page_id = page_id

    def __init__(
        self, open_page: Callable[[str], Awaitable[None]], id: str | None = "sidebar"
    ) -> None:
        """``open_page(page_id)``: what Enter on an item does (a click posts ``PageChosen``)."""
        super().__init__(id=id)
        self._items: tuple[MenuItem, ...] = ()
        self._lang = ""  # the language the items are shown in
        self._open_page = open_page

    def compose(self) -> ComposeResult:
        yield Static(id="sidebar-title")
        yield MenuList(self._open_page, id="menu", compact=True)

    @property
    def items(self) -> tuple[MenuItem, ...]:
        """What the sidebar shows, top to bottom: section headings and page items."""
        return self._items

    @property
    def pages(self) -> tuple[str, ...]:
        """The page ids the sidebar offers, top to bottom."""
        return tuple(item.page for item in self._items if item.page)

    def show(self, items: Sequence[MenuItem], t: Translator, current: str | None) -> None:
        """Show ``items`` in ``t``'s language, ``current`` highlighted — unless the list is
        the one already shown: then nothing changes, and the highlight stays where the arrows
        put it (the sender status, loaded after login, showed the same items again and sent
        the highlight back to the current page: an arrow pressed meanwhile was lost, and the
        next Enter opened the wrong page)."""
        items = tuple(items)
        menu = self.query_one("#menu", OptionList)
        if items == self._items and t.lang == self._lang:
            return
        highlighted = menu.highlighted_option
        kept = highlighted.id if highlighted is not None and self._items else None
        self._items, self._lang = items, t.lang
        self.query_one("#sidebar-title", Static).update(t("menu.title"))
        menu.clear_options()
        menu.add_options([self._option(item, t) for item in self._items])
        self.mark(kept if kept in self.pages else current)

    @staticmethod
    def _option(item: MenuItem, t: Translator) -> Option:
        text = Text(
            ("· " if item.level == 2 else "") + t(item.label_key),
            style="bold" if item.level == 0 else "",
        )
        # A hanging indent, so wrapped labels stay under their first line.
        return Option(
            Padding(text, (0, 0, 0, INDENT.get(item.level, 0))),
            id=item.page,
            disabled=item.page is None,
        )

    def mark(self, page_id: str | None) -> None:
        """Highlight the current page in the list."""
        if page_id is None or page_id not in self.pages:
            return
        menu = self.query_one("#menu", OptionList)
        index = menu.get_option_index(page_id)
        if menu.highlighted != index:
            menu.highlighted = index

    def focus_menu(self) -> None:
        self.query_one("#menu", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """A click on an item (Enter is ``MenuList.action_open``)."""
        event.stop()
        if event.option.id:
            self.post_message(self.PageChosen(event.option.id))
