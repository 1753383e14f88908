"""Render service records: a table for people, JSON/JSONL/CSV/Parquet for tools.

rich is imported only for tables: it costs about 15 ms at start-up, a JSONL run does not
need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hivescan.render.formats import (
    OutputError,
    OutputFormat,
    text_output,
    write_csv,
    write_json,
    write_jsonl,
    write_parquet,
)
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import shown_filetime

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_STATUS_STYLE = {
    "database": "",
    "pending_delete": "yellow",
    "rejected": "dim",
    "deleted": "magenta",
    "orphaned": "magenta",
}
_SHORT_TYPE = {
    "kernel_driver": "kernel",
    "file_system_driver": "fs",
    "recognizer_driver": "fs-recog",
    "win32_own_process": "own",
    "win32_share_process": "share",
    "win32_own_process_interactive": "own+int",
    "win32_share_process_interactive": "share+int",
    "user_own_process": "user-own",
    "user_share_process": "user-share",
    "user_own_process_instance": "user-own#",
    "user_share_process_instance": "user-share#",
}


def console_for(file: object | None = None) -> Console:
    """A data console (see :func:`hivescan.render.safe.console_for`)."""
    from hivescan.render.safe import console_for as safe_console

    return safe_console(file)  # type: ignore[arg-type]


def print_table(table: Table, output: Path | None, console: Console | None = None) -> None:
    """A table to the terminal (or ``console``), or as plain text to ``output`` (written
    through a temporary file, see :mod:`hivescan.render.output`)."""
    from hivescan.render.output import atomic_text
    from hivescan.render.safe import file_console

    if output is None:
        (console or console_for()).print(table)
        return
    with atomic_text(output) as fh:
        file_console(fh).print(table)


# the table shows the live database first: what the SCM runs, then what it would delete, what
# was recovered, and last the keys it rejects (".NET CLR Data" and other non-services); stable,
# so hive order is kept within each status. Machine formats keep the records' own order.
_STATUS_ORDER = {"database": 0, "pending_delete": 1, "deleted": 2, "orphaned": 3, "rejected": 4}


def _live_first(record: ServiceRecord) -> int:
    return _STATUS_ORDER.get(record.status, 3)


def services_table(records: Sequence[ServiceRecord], *, title: str | None = None) -> Table:
    """One row per record, each status in its own colour on a terminal; every string from
    the hive shown as data."""
    from hivescan.render.safe import data_table, lines

    table = data_table(title=title, show_lines=False, header_style="bold")
    table.add_column("name", overflow="fold", min_width=8)
    table.add_column("status", min_width=8, overflow="fold")
    table.add_column("set", justify="right")
    table.add_column("type")
    table.add_column("start")
    table.add_column("image path / ServiceDll", overflow="fold")
    table.add_column("last write (UTC)", min_width=10)
    codes = {d.code for rec in records for d in rec.diagnostics if d.level != "info"}
    # diagnostic codes are ids an analyst greps for: one per line, never broken mid-word
    table.add_column("notes", overflow="fold", min_width=max((len(c) for c in codes), default=5), whole=True)
    table.whole_share = 0.25  # on a narrow terminal names and paths matter more than whole codes
    for rec in sorted(records, key=_live_first):
        image_lines: list[object] = []
        if rec.image_path:
            image_lines.append(rec.image_path)
        if rec.service_dll:
            image_lines.append(f"{'  ' if image_lines else ''}dll: {rec.service_dll}")
        status = rec.status if rec.reject_reason is None else f"{rec.status} ({rec.reject_reason})"
        notes = sorted({d.code for d in rec.diagnostics if d.level != "info"})
        table.add_row(
            rec.name,
            status,
            str(rec.control_set) if rec.control_set is not None else "",
            _SHORT_TYPE.get(rec.type_name or "", rec.type_name or ""),
            rec.start_name or "",
            lines(image_lines),
            shown_filetime(rec.origin.last_write_filetime),
            lines(notes),
            style=_STATUS_STYLE.get(rec.status, ""),
        )
    return table


def write_services(
    records: Sequence[ServiceRecord],
    fmt: OutputFormat,
    output: Path | None,
    *,
    console: Console | None = None,
    title: str | None = None,
) -> None:
    if fmt is OutputFormat.parquet:
        if output is None:
            raise OutputError("Parquet is binary: give an output file with -o FILE")
        from hivescan.frames import services_frame

        write_parquet(services_frame(records), output)
        return
    if fmt is OutputFormat.table:
        print_table(services_table(records, title=title), output, console)
        return
    with text_output(output) as out:
        rows = (r.to_dict() for r in records)
        if fmt is OutputFormat.jsonl:
            write_jsonl(rows, out)
        elif fmt is OutputFormat.json:
            write_json(rows, out)
        elif fmt is OutputFormat.csv:
            from hivescan.files.columns import flat_file_columns

            write_csv(({**row, **flat_file_columns(row)} for row in rows), out)
