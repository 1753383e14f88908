"""Render service diffs: a table for people, JSON/JSONL/CSV (one row per field change) for tools."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text

from hivescan.diff import Change
from hivescan.render.bootplan import image_cell
from hivescan.render.fields import change_lines
from hivescan.render.formats import text_output, write_csv, write_json, write_jsonl
from hivescan.render.safe import DataTable, data_table, lines
from hivescan.textsafe import shown_path, visible

DIFF_FORMATS = ("table", "json", "jsonl", "csv")


def _side(change: Change, before: bool) -> str:
    origin = change.before_origin if before else change.after_origin
    if origin is None:
        return ""
    return f"{shown_path(origin.hive_path)} ControlSet{origin.control_set or 0:03d}"


def diff_rows(changes: Sequence[Change]) -> list[dict[str, Any]]:
    """One row per field change (added/removed services: one row without a field)."""
    rows = []
    for change in changes:
        base = {
            "kind": change.kind,
            "name": change.name,
            "before": _side(change, True),
            "before_key_path": change.before_origin.key_path if change.before_origin else None,
            "before_last_write": change.before_origin.last_write if change.before_origin else None,
            "before_last_write_filetime": change.before_origin.last_write_filetime if change.before_origin else None,
            "after": _side(change, False),
            "after_key_path": change.after_origin.key_path if change.after_origin else None,
            "after_last_write": change.after_origin.last_write if change.after_origin else None,
            "after_last_write_filetime": change.after_origin.last_write_filetime if change.after_origin else None,
        }
        if not change.fields:
            rows.append({**base, "field": None, "value_before": None, "value_after": None})
        for fc in change.fields:
            d = fc.to_dict()
            rows.append(
                {
                    **base,
                    "field": d["field"],
                    "value_before": d["before"],
                    "value_after": d["after"],
                    "value_before_decoded": d.get("before_decoded"),
                    "value_after_decoded": d.get("after_decoded"),
                }
            )
    return rows


def _cell(field: str, raw: Any, decoded: Any) -> Text:
    """The decoded form with the raw value beside it (render/fields.py)."""
    return lines(change_lines(field, raw, decoded))


def diff_table(changes: Sequence[Change], *, title: str | None = None) -> DataTable:
    table = data_table(title=title, header_style="bold")
    table.add_column("change")
    table.add_column("service", overflow="fold")
    table.add_column("field", overflow="fold")
    table.add_column("before", overflow="fold")
    table.add_column("after", overflow="fold")
    style = {"added": "green", "removed": "red", "changed": "yellow"}
    for change in changes:
        if not change.fields:
            # a removed service's image is what it was ("before"); an added one's is "after";
            # for a svchost-hosted service the ServiceDll is shown under it
            before = image_cell(change.before.image_path, change.before.service_dll) if change.before else ""
            after = image_cell(change.after.image_path, change.after.service_dll) if change.after else ""
            table.add_row(change.kind, change.name, "image_path", before, after, style=style[change.kind])
        for fc in change.fields:
            before = _cell(fc.field, fc.before, fc.before_decoded)
            after = _cell(fc.field, fc.after, fc.after_decoded)
            table.add_row(change.kind, change.name, fc.field, before, after, style=style[change.kind])
    return table


def write_diff(changes: Sequence[Change], fmt: str, output: Path | None, *, title: str | None = None) -> None:
    if fmt == "table":
        from hivescan.render.services import print_table

        if not changes:  # one clear line, not an empty table under a title
            with text_output(output) as out:
                out.write(f"no differences: {visible(title)}\n" if title else "no differences\n")
            return
        print_table(diff_table(changes, title=title), output)
        return
    with text_output(output) as out:
        if fmt == "jsonl":
            write_jsonl((c.to_dict() for c in changes), out)
        elif fmt == "json":
            write_json((c.to_dict() for c in changes), out)
        else:
            write_csv(diff_rows(changes), out)
