"""The Routing Module (today called DestHa): *Informations* and *Consulter ou modifier le
Routing Module* — per declaration flow, the recipient and the channel (the e-Box or one of the
sender's batch channels) of the messages coming from the institutions."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from screens.base import Page
from screens.forms import StatusLine
from screens.user_dialogs import DIALOG_CSS
from store.errors import ExpeditoError
from store.routing import RoutingRow
from tui.context import AppContext
from tui.i18n import Translator, code_name
from tui.widgets.footer import PortalFooter

INFO_PARAGRAPHS = 4


def channel_name(t: Translator, channel: str) -> str:
    return code_name(t, "routing.channel", channel)


def flow_name(t: Translator, flow: str) -> str:
    return code_name(t, "routing.flow", flow)


class RoutingInformationsPage(Page):
    def compose(self) -> ComposeResult:
        yield Static(self.t("page.routing_informations.title"), classes="page-title", markup=False)
        for i in range(1, INFO_PARAGRAPHS + 1):
            yield Static(
                self.t(f"routing.info.{i}"),
                id=f"routing-info-{i}",
                classes="paragraph",
                markup=False,
            )


class ChannelDialog(ModalScreen[str | None]):
    """Choose the channel of a flow among the e-Box and the sender's batch channels."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="ChannelDialog")
        + """
    ChannelDialog OptionList { height: auto; margin: 1 0; }
    ChannelDialog #channel-note { color: $text-muted; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Annuler", id="dialog.cancel")]
    AUTO_FOCUS = "#channels"

    def __init__(self, flow: str, current: str, choices: list[str], lang: str) -> None:
        super().__init__()
        self.flow, self.current, self.choices = flow, current, choices
        self.t = Translator(lang)

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical():
            yield Static(
                t("routing.choose", flow=flow_name(t, self.flow)),
                classes="dialog-title",
                markup=False,
            )
            yield OptionList(
                *[
                    Option(channel_name(t, c) + (" ✓" if c == self.current else ""), id=c)
                    for c in self.choices
                ],
                id="channels",
                compact=True,
            )
            yield Static(t("routing.choices_note"), id="channel-note", markup=False)
        yield PortalFooter()

    def on_mount(self) -> None:
        self.refresh_bindings()
        channels = self.query_one("#channels", OptionList)
        if self.current in self.choices:
            channels.highlighted = self.choices.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RoutingModulePage(Page):
    BINDINGS = [Binding("m", "change", "Modifier", id="routing.change")]

    def __init__(self, ctx: AppContext, page_id: str) -> None:
        super().__init__(ctx, page_id)
        self.rows: list[RoutingRow] = []
        self.choices: list[str] = []

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(t("page.routing_module.title"), classes="page-title", markup=False)
        yield Static(t("routing.intro"), markup=False)
        yield Static(t("routing.recipient_line"), id="routing-recipient", markup=False)
        yield DataTable(id="routes", cursor_type="row", zebra_stripes=True)
        yield Static(
            t("routing.keys") if self.ctx.is_manager else t("routing.read_only"),
            id="routing-note",
            classes="hint" if self.ctx.is_manager else "notice",
            markup=False,
        )
        yield StatusLine("routing-status")

    def on_mount(self) -> None:
        t = self.t
        table = self.query_one("#routes", DataTable)
        # Text, not str: a str is read as markup (and loads rich's emoji table, 0.8 MiB)
        table.add_column(Text(t("routing.flow")), key="flow")
        table.add_column(Text(t("routing.channel")), key="channel")
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "change":
            return self.ctx.is_manager
        return True

    def page_shown(self) -> None:
        self.when_settled(self.load)  # a channel may have come or gone since

    def load(self, note: str = "", error: bool = False) -> None:
        self.load_and_show(self.fetch, partial(self.show, note=note, error=error))

    def fetch(self) -> tuple[list[RoutingRow], list[str]]:
        from store.routing import channel_choices, routing_table

        return (
            routing_table(self.ctx.person.id, self.ctx.qualite.id),
            channel_choices(self.ctx.qualite.id),
        )

    def show(
        self, loaded: tuple[list[RoutingRow], list[str]], note: str = "", error: bool = False
    ) -> None:
        t = self.ctx.t
        self.rows, self.choices = loaded
        table = self.query_one("#routes", DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in self.rows:
            channel = channel_name(t, row.channel)
            if row.is_default:
                channel = t("routing.default", channel=channel)
            table.add_row(Text(flow_name(t, row.flow)), Text(channel), key=row.flow)
        if 0 <= cursor < len(self.rows):
            table.move_cursor(row=cursor)
        self.query_one(StatusLine).show(note, error)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.ctx.is_manager:
            self.action_change()

    def action_change(self) -> None:
        table = self.query_one("#routes", DataTable)
        if not self.ctx.is_manager or not 0 <= table.cursor_row < len(self.rows):
            return
        row = self.rows[table.cursor_row]

        def chosen(channel: str | None) -> None:
            if channel is not None and channel != row.channel:
                self.change(row.flow, channel)

        self.app.push_screen(
            ChannelDialog(row.flow, row.channel, self.choices, self.ctx.lang), chosen
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change")
    def change(self, flow: str, channel: str) -> None:
        from store.routing import set_route
        from tui.i18n import error_text

        t = self.ctx.t
        try:
            set_route(self.ctx.person.id, self.ctx.qualite.id, flow, channel)
        except ExpeditoError as exc:
            self.app.call_from_thread(self.load, error_text(exc, self.ctx.lang), True)
            return
        self.app.call_from_thread(
            self.load,
            t("routing.changed", flow=flow_name(t, flow), channel=channel_name(t, channel)),
        )
