"""A table whose columns fit its width: no sideways scrolling at 80 columns.

``FittedTable.fill`` takes the columns and the rows as text; a cell of several lines ("name\n
login") makes its row as high. The columns named in ``keep`` (a role, a status) keep their
natural width; the others give up width, the widest first, and their lines end in "…" where
cut. It fits again when its width changes (F4, a resize).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable

MIN_WIDTH = 6  # a cut column keeps this many cells at least


def fit_widths(natural: Sequence[int], available: int, keep: Collection[int] = ()) -> list[int]:
    """Content widths for columns of ``natural`` widths within ``available`` cells: the
    columns at the indexes in ``keep`` stay whole; the others shrink, the widest first, down
    to ``MIN_WIDTH`` (or their natural width, if smaller)."""
    widths = list(natural)
    excess = sum(widths) - available
    while excess > 0:
        cuttable = [i for i, w in enumerate(widths) if i not in keep and w > MIN_WIDTH]
        if not cuttable:
            break
        widest = max(cuttable, key=lambda i: widths[i])
        others = [widths[i] for i in cuttable if i != widest]
        step = min(excess, widths[widest] - max(MIN_WIDTH, max(others, default=0)) or 1)
        widths[widest] -= step
        excess -= step
    return widths


Row = tuple[str, Sequence[str]]  # (row key, the cells' texts)


class FittedTable(DataTable[Text]):
    """A ``DataTable`` filled with ``fill``; ``keep``: the keys of the columns never cut;
    ``visible_rows``: how many rows show before a vertical scrollbar takes its width;
    ``compact``: one space between columns and none at the edges (instead of one on each side
    of every cell), for tables that need every column they can get.

    Its columns fit its width: it never scrolls sideways. Without ``overflow-x: hidden`` it
    showed a horizontal scrollbar while its columns were being fitted, one line taller, then
    lost it: laid out ahead one line taller than when shown, it was drawn again when shown
    (10 ms for *Rechercher utilisateurs*' results)."""

    DEFAULT_CSS = """
    FittedTable { overflow-x: hidden; }
    """

    def __init__(
        self,
        *,
        keep: Collection[str] = (),
        visible_rows: int = 10,
        id: str | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__(
            id=id, cursor_type="row", zebra_stripes=True, cell_padding=0 if compact else 1
        )
        self.gap = 1 if compact else 0
        self.keep = frozenset(keep)
        self.visible_rows = visible_rows
        self._columns: Sequence[tuple[str, str]] = ()
        self._rows: Sequence[Row] = ()
        self._fitted_to = -1

    def fill(self, columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> None:
        """Show ``rows`` under ``columns`` ((key, label) pairs); the cursor stays on the
        row with the same key, if any."""
        self._columns, self._rows = columns, rows
        # A table hidden (its page kept for the next visit) has no size: it keeps the width
        # it was fitted to, or it would be fitted again, and laid out again, when shown.
        self._refit(self.size.width or self._fitted_to)

    def on_resize(self, event: events.Resize) -> None:
        # The event's width: the size of a table laid out ahead, hidden, comes with it.
        if self._columns and event.size.width != self._fitted_to:
            self._refit(event.size.width)

    def _available(self, width: int) -> int:
        if width <= 0:
            return 10_000  # not laid out yet (a hidden page): fitted again once shown
        if len(self._rows) > self.visible_rows:
            width -= self.styles.scrollbar_size_vertical
        gaps = self.gap * (len(self._columns) - 1)
        return width - 2 * self.cell_padding * len(self._columns) - gaps

    def _refit(self, width: int) -> None:
        self._fitted_to = width
        cursor_key = None
        if 0 <= self.cursor_row < self.row_count:
            cursor_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        natural = [
            max(
                [cell_len(label)]
                + [cell_len(line) for _, cells in self._rows for line in cells[i].split("\n")]
            )
            for i, (_, label) in enumerate(self._columns)
        ]
        keep = {i for i, (key, _) in enumerate(self._columns) if key in self.keep}
        widths = fit_widths(natural, self._available(width), keep)
        self.clear(columns=True)
        last = len(widths) - 1
        for i, ((key, label), width) in enumerate(zip(self._columns, widths, strict=True)):
            gap = 0 if i == last else self.gap
            self.add_column(_cut(label, width), width=width + gap, key=key)
        for key, cells in self._rows:
            self.add_row(
                *(_cut(c, w) for c, w in zip(cells, widths, strict=True)),
                key=key,
                height=max(c.count("\n") + 1 for c in cells),
            )
        if cursor_key is not None and cursor_key in {key for key, _ in self._rows}:
            self.move_cursor(row=self.get_row_index(cursor_key))


def _cut(text: str, width: int) -> Text:
    """Each line of ``text`` within ``width`` cells, ending in "…" where cut."""
    lines = []
    for line in text.split("\n"):
        part = Text(line, no_wrap=True)
        part.truncate(width, overflow="ellipsis")
        lines.append(part)
    return Text("\n", no_wrap=True).join(lines)
