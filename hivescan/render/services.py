"""Render service records: a table for people, JSON/JSONL/CSV/Parquet for tools.

rich is imported only for tables: it costs about 15 ms at start-up, a JSONL run does not
need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hivescan.render.formats import OutputError, OutputFormat, text_output, write_csv, write_json, write_jsonl
from hivescan.scm.record import ServiceRecord
from hivescan.textsafe import escape_surrogates

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
    """A console that does not squeeze paths into 80 columns when output is not a terminal."""
    from rich.console import Console

    console = Console(file=file) if file is not None else Console()  # type: ignore[arg-type]
    if not console.is_terminal:
        console = Console(file=file, width=max(console.width, 160), no_color=True)  # type: ignore[arg-type]
    return console


def print_table(table: Table, output: Path | None, console: Console | None = None) -> None:
    """A table to the terminal (or ``console``), or as plain text to ``output``."""
    from rich.console import Console

    if output is None:
        (console or console_for()).print(table)
        return
    with output.open("w", encoding="utf-8") as fh:
        Console(file=fh, width=200, no_color=True).print(table)


def services_table(records: Sequence[ServiceRecord], *, title: str | None = None) -> Table:
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("name", overflow="fold", min_width=8)
    table.add_column("status", min_width=8)
    table.add_column("set", justify="right")
    table.add_column("type")
    table.add_column("start")
    table.add_column("image path / ServiceDll", overflow="fold")
    table.add_column("last write (UTC)", min_width=19)
    table.add_column("notes", overflow="fold")
    for rec in records:
        image = rec.image_path or ""
        if rec.service_dll:
            image = f"{image}\n  dll: {rec.service_dll}" if image else f"dll: {rec.service_dll}"
        status = rec.status if rec.reject_reason is None else f"{rec.status} ({rec.reject_reason})"
        notes = ", ".join(sorted({d.code for d in rec.diagnostics if d.level != "info"}))
        table.add_row(
            *(
                escape_surrogates(cell)
                for cell in (
                    rec.name,
                    status,
                    str(rec.control_set) if rec.control_set is not None else "",
                    _SHORT_TYPE.get(rec.type_name or "", rec.type_name or ""),
                    rec.start_name or "",
                    image,
                    (rec.last_write or "")[:19].replace("T", " "),
                    notes,
                )
            ),
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

        services_frame(records).to_parquet(output, index=False)
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
