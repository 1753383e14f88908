"""Render service events: a table for people, JSON/JSONL/CSV/Parquet for tools.

Every string in an event came from the evidence (a service name can hold anything an
attacker typed, control characters and terminal escapes included): table cells are
``rich.text.Text`` (never read as markup) with control characters shown as ``\\xNN``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hivescan.events.logs import EventLog
from hivescan.render.formats import (
    OutputError,
    OutputFormat,
    text_output,
    write_csv,
    write_json,
    write_jsonl,
    write_parquet,
)
from hivescan.textsafe import visible
from hivescan.timeutil import datetime_flag, iso_to_datetime

if TYPE_CHECKING:
    from rich.table import Table


def plain(value: Any) -> str:
    """Evidence text for a terminal: surrogates and control characters escaped, visibly."""
    return visible("" if value is None else value)


def event_rows(logs: Sequence[EventLog]) -> list[dict[str, Any]]:
    """Every service event of every log, sorted by time, as contract rows."""
    rows = [e.to_dict() for log in logs for e in log.events]
    rows.sort(key=lambda r: (r["time"], r["evtx_path"], r["record_id"] or 0))
    return rows


def events_table(logs: Sequence[EventLog], *, title: str | None = None) -> Table:
    from rich.text import Text

    from hivescan.render.safe import data_table

    table = data_table(title=title, header_style="bold")
    for name in ("time (UTC)", "id", "kind", "service", "image path / state", "account / by", "computer", "log#rec"):
        table.add_column(name, overflow="fold")
    for row in event_rows(logs):
        what = row["image_path"] or row["state"] or row["registry_key"] or ""
        who = " / ".join(plain(x) for x in (row["account"], row["subject_user"], row["process"]) if x)
        service = row["service_name"] or ""
        if row["display_name"] and row["display_name"] != service:
            service = f"{service} ({row['display_name']})" if service else row["display_name"]
        cells = (
            _when(row["time"]),
            str(row["event_id"]),
            row["kind"],
            service,
            what,
            who,
            row["computer"],
            f"{Path(row['evtx_path']).name}#{row['record_id']}",
        )
        table.add_row(*(Text(plain(c)) for c in cells), style="red" if row["chunk_state"] != "ok" else "")
    return table


def _when(time: str) -> str:
    """An event's time to the millisecond; one of 0 (1601-01-01) or before 1990 / from 2100 on
    says so, as key times do (timeutil.datetime_flag)."""
    shown = time[:23].replace("T", " ")
    flag = datetime_flag(iso_to_datetime(time))
    return f"{shown} ({flag})" if flag else shown


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["data"] = json.dumps(row["data"], ensure_ascii=True, default=str)
    return out


def write_events(logs: Sequence[EventLog], fmt: OutputFormat, output: Path | None, *, title: str | None = None) -> None:
    """The service events of ``logs`` in ``fmt`` to ``output`` (stdout when None)."""
    rows = event_rows(logs)
    if fmt is OutputFormat.parquet:
        if output is None:
            raise OutputError("Parquet is binary: give an output file with -o FILE")
        import pandas as pd

        from hivescan.events.rows import COLUMNS

        frame = pd.DataFrame([_flat(r) for r in rows], columns=list(COLUMNS))
        for column in ("record_id", "file_record_id", "event_id"):
            frame[column] = frame[column].astype("Int64")
        write_parquet(frame, output)
        return
    if fmt is OutputFormat.table:
        from hivescan.render.services import print_table

        print_table(events_table(logs, title=title), output)
        return
    with text_output(output) as out:
        if fmt is OutputFormat.jsonl:
            write_jsonl(rows, out)
        elif fmt is OutputFormat.json:
            write_json(rows, out)
        elif fmt is OutputFormat.csv:
            write_csv([_flat(r) for r in rows], out)
