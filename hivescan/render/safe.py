"""Tables and consoles that treat every string as data.

rich reads ``[...]`` in plain strings as markup (a service named ``[/bogus]`` raised
MarkupError; ``[link=...]`` in a DisplayName became a clickable link) and passes ESC
sequences through to the terminal. Here:

* every console is created with markup, emoji codes and highlighting off, so no string
  printed is interpreted;
* :class:`DataTable` turns each string cell and its title into a :class:`~rich.text.Text` made
  :func:`~hivescan.textsafe.visible`, so control characters show as ``\\x1b``, ``\\n``;
* output that is not a terminal (a pipe, a file) is plain: no colour, no styles, ASCII
  borders, and as wide as the terminal the user sits at (``COLUMNS``, or stderr's/stdin's
  terminal), else 120 columns; never a forced 160.

This module imports rich: import it only where a table is drawn (rich costs about 15 ms at
start-up; a JSONL run does not need it).
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text

from hivescan.textsafe import visible

PLAIN_WIDTH = 120  # piped output with no terminal anywhere to measure
FILE_WIDTH = 200  # tables written with -o FILE
_DATA_CONSOLE: dict[str, Any] = {"markup": False, "emoji": False, "highlight": False}


def text(value: object, style: str = "") -> Text:
    """A rich Text of ``value`` made visible: never parsed as markup."""
    return Text(visible("" if value is None else value), style=style)


def lines(values: list[Any], style: str = "") -> Text:
    """Several values, one per line (each made visible; the line breaks are ours)."""
    return Text("\n".join(visible(v) for v in values), style=style)


class PlainConsole(Console):
    """A console for pipes and files: no colour or styles (no escape sequence at all), and
    ASCII borders (rich substitutes ASCII boxes when the encoding is not UTF)."""

    @property
    def encoding(self) -> str:
        return "ascii"


class DataTable(Table):
    """A Table whose string cells are shown as data: visible Text, never markup."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.whole: set[int] = set()  # indices of columns holding ids: kept whole while they fit
        # the most of the width the id columns may take before they fold like the others (a
        # column of diagnostic codes kept whole at 80 columns squeezed the names to 4 letters)
        self.whole_share = 1.0

    def add_column(self, *args: Any, whole: bool = False, **kwargs: Any) -> None:
        """Columns fold long text onto more lines: data is never cut to an ellipsis.
        ``whole``: the column holds ids (rule ids, diagnostic codes) and keeps its
        ``min_width`` while anything else can give way."""
        kwargs.setdefault("overflow", "fold")
        if whole:
            self.whole.add(len(self.columns))
        super().add_column(*args, **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(text(r) if isinstance(r, str) else r for r in renderables), **kwargs)

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        """Fit the width. When the columns' minimum widths do not fit (rich would crop the
        right-hand columns and the border): keep the id columns at their minimum and let
        every other column fold; only if even that is too wide, let everything fold. Data is
        wrapped, never cut off."""
        widths = super()._calculate_column_widths(console, options)
        if sum(widths) <= options.max_width:
            return widths
        saved = [(column.min_width, column.width, column.no_wrap, column.overflow) for column in self.columns]
        whole = self.whole
        if sum(self.columns[index].min_width or 0 for index in whole) > self.whole_share * options.max_width:
            whole = set()
        try:
            for index, column in enumerate(self.columns):
                if index in whole and column.min_width:
                    column.width = column.min_width
            for _ in range(8):  # shrink the other minimums step by step, so that none starves
                for index, column in enumerate(self.columns):
                    if index not in whole and column.min_width:
                        column.min_width = column.min_width * 3 // 4 or None
                widths = super()._calculate_column_widths(console, options)
                if sum(widths) <= options.max_width:
                    break
            if sum(widths) > options.max_width:
                for column, (_, width, _, _) in zip(self.columns, saved, strict=True):
                    column.min_width, column.width, column.no_wrap, column.overflow = None, width, False, "fold"
                widths = super()._calculate_column_widths(console, options)
        finally:
            for column, (min_width, width, no_wrap, overflow) in zip(self.columns, saved, strict=True):
                column.min_width, column.width, column.no_wrap, column.overflow = min_width, width, no_wrap, overflow
        return widths


def data_table(*, title: object | None = None, **options: Any) -> DataTable:
    """A :class:`DataTable`; its title is data too (it often names a hive path)."""
    return DataTable(title=None if title is None else text(title), **options)


def data_grid(**options: Any) -> DataTable:
    """:meth:`rich.table.Table.grid` as a :class:`DataTable`."""
    grid = DataTable.grid(**options)
    assert isinstance(grid, DataTable)  # Table.grid builds ``cls(...)``
    return grid


def _measured_width() -> int:
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for stream in (sys.stderr, sys.stdin):
        try:
            if stream is not None and stream.isatty():
                return os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            continue
    return PLAIN_WIDTH


def console_for(file: IO[str] | None = None, *, width: int | None = None) -> Console:
    """A console for data: markup, emoji and highlighting off; plain when not a terminal."""
    console = Console(file=file, **_DATA_CONSOLE)
    if console.is_terminal and width is None:
        return console
    return PlainConsole(file=file, width=width or _measured_width(), no_color=True, color_system=None, **_DATA_CONSOLE)


def file_console(fh: IO[str]) -> Console:
    """A plain console writing a table into an output file."""
    return console_for(fh, width=FILE_WIDTH)


__all__ = ["DataTable", "PlainConsole", "console_for", "data_grid", "data_table", "file_console", "lines", "text"]
