"""Render a service history: snapshots, then one row per event (per changed field in CSV)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from hivescan.diff import DECODED, decoded_value
from hivescan.history import ServiceEvent
from hivescan.render.fields import change_lines, plain
from hivescan.render.formats import (
    OutputError,
    OutputFormat,
    dumps,
    stamped,
    text_output,
    write_csv,
    write_json,
    write_jsonl,
)
from hivescan.render.safe import DataTable, console_for, data_table, file_console, lines, text
from hivescan.scm.record import ServiceRecord
from hivescan.snapshots import History
from hivescan.textsafe import quoted
from hivescan.timeutil import shown_filetime

_EVENT_STYLE = {"appeared": "green", "changed": "yellow", "disappeared": "red", "present": "dim"}


def _readable(value: Any) -> Any:
    """Raw value changes ({type, hex}) as text or numbers for people; JSON/CSV keep the hex.
    Decoded values (failure actions...) are shown with their field names, as ``services`` does."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict) and set(value) == {"type", "hex"}:
        data = bytes.fromhex(value["hex"])
        if value["type"] in ("REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ") and not len(data) % 2:
            return f"{value['type']} " + quoted(data.decode("utf-16-le", "backslashreplace").rstrip("\0"))
        if value["type"] == "REG_DWORD" and len(data) == 4:
            return f"REG_DWORD {int.from_bytes(data, 'little')}"
        return f"{value['type']} {value['hex']}"
    return value


def _shown(field: str, value: Any, record: ServiceRecord | None) -> Text:
    """One side of a changed field, whole (the table folds it): a field with a decoded form
    as diff shows it (render/fields.py: the decoded form with the raw value beside it; the
    failure actions and the triggers are one change each, scm/compare.py)."""
    if value is None:
        return text("-")
    if field in DECODED:
        return lines(change_lines(field, value, decoded_value(field, record)))
    value = _readable(value)
    return text(plain(value))


def snapshots_table(history: History) -> DataTable:
    table = data_table(title="snapshots (oldest first)", header_style="bold")
    for col in ("#", "snapshot", "source", "roles", "services", "hive last written", "set last write", "sha256"):
        table.add_column(col, overflow="fold")
    for index, snap in enumerate(history.snapshots, 1):
        table.add_row(
            str(index),
            snap.label,
            snap.source,
            ", ".join(snap.roles) or "-",
            str(len(snap.records)),
            shown_filetime(snap.hive_last_written) or "-",
            shown_filetime(snap.control_set_last_write) or "-",
            snap.hive_sha256[:12],
        )
    return table


def remnants_table(history: History) -> DataTable:
    """The transaction-log remnants: previous states of the hive, listed (not rebuilt)."""
    table = data_table(title="transaction-log remnants (previous states of the hive, not applied)", header_style="bold")
    for col in ("log", "sequence", "offset", "hive bins", "pages", "bytes"):
        table.add_column(col, overflow="fold")
    for entry in sorted(history.log_remnants, key=lambda e: (e.log, e.sequence)):
        table.add_row(
            text(os.path.basename(entry.log)), str(entry.sequence), str(entry.file_offset),
            f"{entry.hive_bins_size:,}", str(len(entry.pages)), f"{entry.page_bytes:,}",
        )  # fmt: skip
    return table


def events_table(history: History) -> DataTable:
    table = data_table(title=f"{len(history.events)} service events", header_style="bold", show_lines=False)
    for col in ("service", "event", "snapshot", "compared with", "field", "before", "after", "key last write"):
        table.add_column(col, overflow="fold")
    for event in history.events:
        style = _EVENT_STYLE.get(event.kind, "")
        prev = event.previous.label if event.previous is not None else "-"
        when = shown_filetime(event.key_last_write_filetime) or "-"
        if event.kind == "changed":
            for i, change in enumerate(event.changes):
                first = i == 0
                table.add_row(
                    event.name if first else "",
                    event.kind if first else "",
                    event.snapshot.label if first else "",
                    prev if first else "",
                    change.field,
                    _shown(change.field, change.before, event.before),
                    _shown(change.field, change.after, event.after),
                    when if first else "",
                    style=style,
                )
            continue
        record = event.after if event.after is not None else event.before
        image = record.image_path if record is not None else None
        before, after = (image, None) if event.kind == "disappeared" else (None, image)
        table.add_row(
            event.name,
            event.kind,
            event.snapshot.label,
            prev,
            "image_path",
            text(before) if before is not None else text("-"),
            text(after) if after is not None else text("-"),
            when,
            style=style,
        )
    return table


def _flat_rows(events: tuple[ServiceEvent, ...]) -> Iterator[dict[str, Any]]:
    """CSV: one row per changed field (appeared/disappeared: one row, no field)."""
    for event in events:
        base = event.to_dict()
        changes = base.pop("changes")
        if not changes:
            yield {**base, "field": None, "before": None, "after": None}
        for change in changes:
            yield {**base, **change}


def write_history(history: History, fmt: OutputFormat, output: Path | None, *, console: Console | None = None) -> None:
    if fmt is OutputFormat.parquet:
        raise OutputError("history is written as table, json, jsonl or csv")
    if fmt is OutputFormat.table:
        with text_output(output) as out:
            con = (console or console_for()) if output is None else file_console(out)
            con.print(snapshots_table(history))
            con.print(events_table(history))
            if history.log_remnants:
                con.print(remnants_table(history))
        return
    with text_output(output) as out:
        if fmt is OutputFormat.json:
            doc = {
                "snapshots": [s.to_dict() for s in history.snapshots],
                "events": [e.to_dict() for e in history.events],
                "diagnostics": [d.to_dict() for d in history.diagnostics],
                "log_remnants": [e.to_dict() for e in history.log_remnants],
            }
            out.write(dumps(stamped(doc)) + "\n")
        elif fmt is OutputFormat.jsonl:
            write_jsonl((e.to_dict() for e in history.events), out)
        elif fmt is OutputFormat.csv:
            write_csv(_flat_rows(history.events), out)


__all__ = ["events_table", "snapshots_table", "write_history", "write_json"]
