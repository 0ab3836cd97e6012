"""*Envois reçus*: the sets (FI/FS/GO) the qualité's sender delivered, newest first, with
their result, the ACRF error identifiers and the ticket; Enter shows one set in full (its
files and sizes, every error, the acknowledgement's name). Read-only, for every role.

The list comes from ``store.batches.list_batch_sets`` in a thread worker, ``PAGE_SIZE`` sets
at a time; PageDown / PageUp turn the pages (shown in the footer only when there is more than
one), F6 reloads. The page reloads each time it is shown again.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from screens.base import Page
from screens.user_dialogs import DIALOG_CSS
from store.batches import BatchSetInfo
from tui.context import AppContext
from tui.i18n import Translator
from tui.widgets.footer import PortalFooter

PAGE_SIZE = 10
ERRORS_SHOWN = 1  # error identifiers in the table (then "+N"); the details show them all


def result_name(t: Translator, batch: BatchSetInfo) -> str:
    return t(f"envois.status.{batch.status}")


def set_label(batch: BatchSetInfo) -> str:
    """``DMFA 00001 T``: the GO name is too wide for the table at 80 columns."""
    return f"{batch.purpose} {batch.sequence} {batch.env}"


def received(batch: BatchSetInfo) -> str:
    """``15/01 11:00``: the table fits beside the sidebar at 80 columns (the details have
    the year)."""
    return batch.received_at.strftime("%d/%m %H:%M")


def errors_cell(batch: BatchSetInfo) -> str:
    """``125 +1``: the first ErrorID without its ``ACRF-`` (every one has it), and how many
    more; the details list them all."""
    codes = [code.removeprefix("ACRF-") for code in dict.fromkeys(batch.error_codes)]
    if len(codes) <= ERRORS_SHOWN:
        return " ".join(codes) or "-"
    return " ".join(codes[:ERRORS_SHOWN]) + f" +{len(codes) - ERRORS_SHOWN}"


def size_text(t: Translator, size: int) -> str:
    return t("envois.bytes", size=f"{size:,}".replace(",", "\u202f"))


def detail_lines(t: Translator, batch: BatchSetInfo) -> list[str]:
    """The set in full, one line each, as the detail dialog shows it."""
    lines = [
        t("envois.detail.go", name=batch.go_name),
        t("envois.detail.folder", folder=batch.folder),
        t("envois.detail.received", at=batch.received_at.strftime("%d/%m/%Y %H:%M:%S")),
        t(
            "envois.detail.processed",
            at=batch.processed_at.strftime("%d/%m/%Y %H:%M:%S") if batch.processed_at else "-",
        ),
        t("envois.detail.result", result=result_name(t, batch)),
        t("envois.detail.ticket", ticket=batch.ticket or "-"),
        t("envois.detail.ack", name=batch.ack_name or "-"),
        "",
        t("envois.detail.files", count=len(batch.files), total=size_text(t, batch.total_bytes)),
    ]
    lines += [f"  {f.name}  ({size_text(t, f.size)})" for f in batch.files]
    lines.append("")
    if batch.errors:
        lines.append(t("envois.detail.errors", count=len(batch.errors)))
        lines += [f"  {e.code}  {e.file}" for e in batch.errors]
    else:
        lines.append(t("envois.detail.no_errors"))
    return lines


class EnvoiDialog(ModalScreen[None]):
    """One received set in full; Escape or Enter closes it."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="EnvoiDialog")
        + """
    EnvoiDialog VerticalScroll { height: auto; max-height: 17; }
    """
    )
    BINDINGS = [Binding("escape,enter", "close", "Fermer", id="dialog.close")]
    AUTO_FOCUS = "#envoi-body"

    def __init__(self, batch: BatchSetInfo, lang: str) -> None:
        super().__init__()
        self.info = batch
        self.t = Translator(lang)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                self.t("envois.detail.title", name=set_label(self.info)),
                classes="dialog-title",
                markup=False,
            )
            with VerticalScroll(id="envoi-body", can_focus=True):
                yield Static(
                    "\n".join(detail_lines(self.t, self.info)), id="envoi-details", markup=False
                )
        yield PortalFooter()

    def on_mount(self) -> None:
        self.refresh_bindings()

    def action_close(self) -> None:
        self.dismiss(None)


class EnvoisPage(Page):
    DEFAULT_CSS = """
    #page-envois { padding: 0 0 0 1; }
    #envois { height: auto; max-height: 12; margin-top: 1; }
    #envois-count { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("pagedown", "next_page", "Page suivante", id="envois.next", priority=True),
        Binding("pageup", "previous_page", "Page précédente", id="envois.previous", priority=True),
        Binding("f6", "refresh", "Actualiser", id="envois.refresh"),
    ]

    def __init__(self, ctx: AppContext, page_id: str) -> None:
        super().__init__(ctx, page_id)
        self.start = 0
        self.has_next = False
        self.sets: list[BatchSetInfo] = []

    def compose(self) -> ComposeResult:
        yield Static(self.t("page.envois.title"), classes="page-title", markup=False)
        yield Static(self.t("envois.intro"), markup=False)
        yield Static(self.t("envois.loading"), id="envois-empty", classes="hint", markup=False)
        yield DataTable(id="envois", cursor_type="row", zebra_stripes=True)
        yield Static(id="envois-count", markup=False)

    def on_mount(self) -> None:
        t = self.t
        table = self.query_one("#envois", DataTable)
        table.add_column(Text(t("envois.col.received")), key="received")
        table.add_column(Text(t("envois.col.set")), key="set")
        table.add_column(Text(t("envois.col.result")), key="result")
        table.add_column(Text(t("envois.col.errors")), key="errors")  # the ticket: in the details
        table.display = False
        self.query_one("#envois-count").display = False
        self.load(0)

    def page_shown(self) -> None:
        self.when_settled(lambda: self.load(self.start))  # the page of sets shown then

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_page", "previous_page"):
            if self.start == 0 and not self.has_next:
                return False  # a single page: no page keys in the footer
            possible = self.has_next if action == "next_page" else self.start > 0
            return True if possible else None
        return True

    def load(self, offset: int = 0) -> None:
        self.load_and_show(partial(self.fetch, offset), partial(self.show, start=offset))

    def fetch(self, offset: int = 0) -> list[BatchSetInfo]:
        from store.batches import list_batch_sets

        return list_batch_sets(self.ctx.person.id, self.ctx.qualite.id, PAGE_SIZE + 1, offset)

    def show(self, sets: list[BatchSetInfo], start: int = 0) -> None:
        if start > 0 and not sets:
            self.load(max(0, start - PAGE_SIZE))  # the page emptied meanwhile
            return
        t = self.ctx.t
        cursor = self.query_one("#envois", DataTable).cursor_row
        if start != self.start:
            cursor = 0
        self.start = start
        self.has_next = len(sets) > PAGE_SIZE
        self.sets = sets[:PAGE_SIZE]
        table = self.query_one("#envois", DataTable)
        table.clear()
        for batch in self.sets:
            cells = (received(batch), set_label(batch), result_name(t, batch), errors_cell(batch))
            table.add_row(  # Text, not str: a str is read as markup
                *(Text(cell) for cell in cells),
                key=str(batch.id),
            )
        empty = self.query_one("#envois-empty", Static)
        empty.update(t("envois.empty"))
        empty.display = not self.sets
        table.display = bool(self.sets)
        count = self.query_one("#envois-count", Static)
        count.display = bool(self.sets)
        if self.sets:
            table.move_cursor(row=min(max(cursor, 0), len(self.sets) - 1))
            count.update(
                t("envois.count", first=self.start + 1, last=self.start + len(self.sets))
                + ("  " + t("envois.more") if self.has_next else "")
            )
        self.refresh_bindings()

    def selected(self) -> BatchSetInfo | None:
        table = self.query_one("#envois", DataTable)
        if not self.sets or not 0 <= table.cursor_row < len(self.sets):
            return None
        return self.sets[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        batch = self.selected()
        if batch is not None:
            self.app.push_screen(EnvoiDialog(batch, self.ctx.lang))

    def action_next_page(self) -> None:
        if self.has_next:
            self.load(self.start + PAGE_SIZE)

    def action_previous_page(self) -> None:
        if self.start > 0:
            self.load(max(0, self.start - PAGE_SIZE))

    def action_refresh(self) -> None:
        self.load(self.start)
