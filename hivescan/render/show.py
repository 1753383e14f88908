"""``hivescan show``: one service record, every field and every raw value, for a person.

Generic over :meth:`ServiceRecord.to_dict`: fields added to the record later appear without
changes here. Raw values are shown with their registry type, size, hex bytes and, for
text and numbers, a readable form (NULs and hidden data made visible, never trimmed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from hivescan.hive.regtypes import (
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_LINK,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    REG_TYPE_NUMBERS,
)
from hivescan.render.fields import failure_actions_lines, plain, trigger_lines
from hivescan.render.safe import DataTable, data_grid, data_table, lines, text
from hivescan.scm.database import DatabaseContext
from hivescan.scm.record import ServiceRecord
from hivescan.textsafe import printable, quoted
from hivescan.timeutil import datetime_flag, flagged_iso, iso_to_datetime, shown_filetime

# shown in their own sections, not in the field list
_SECTIONS = {
    "raw_values",
    "parameters_raw",
    "triggers_raw",
    "diagnostics",
    "sources",
    "subkey_last_writes",
    "subkey_last_writes_filetime",
    "location",
    "image_file",
    "service_dll_file",
}
_FILE_SECTIONS = (("image_file", "the image file (ImagePath)"), ("service_dll_file", "the ServiceDll file"))
_LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def readable(type_name: str, hex_data: str) -> str:
    """A readable form of raw value bytes: text for string types, numbers for DWORD/QWORD."""
    try:
        data = bytes.fromhex(hex_data)
    except ValueError:
        return ""
    reg_type = REG_TYPE_NUMBERS.get(type_name)
    if reg_type in (REG_SZ, REG_EXPAND_SZ, REG_LINK, REG_MULTI_SZ):
        text = data[: len(data) - len(data) % 2].decode("utf-16-le", "backslashreplace")
        return text.replace("\0", "\\0")
    if reg_type in (REG_DWORD, REG_DWORD_BIG_ENDIAN) and len(data) == 4:
        value = int.from_bytes(data, "little" if reg_type == REG_DWORD else "big")
        return f"{value} (0x{value:x})"
    if reg_type == REG_QWORD and len(data) == 8:
        value = int.from_bytes(data, "little")
        return f"{value} (0x{value:x})"
    return ""


def _flag_times(value: Any) -> Any:
    """Nested mappings (decoded triggers...) that carry a ``last_write`` next to its raw
    ``last_write_filetime``: the time as :func:`flagged_iso` words it (0: not set)."""
    if isinstance(value, list):
        return [_flag_times(v) for v in value]
    if isinstance(value, dict):
        out = {k: _flag_times(v) for k, v in value.items()}
        raw = value.get("last_write_filetime")
        if "last_write" in value and isinstance(raw, int) and not isinstance(raw, bool):
            out["last_write"] = flagged_iso(raw)
        return out
    return value


def _value(value: Any) -> Text:
    """A field's value as data: one line per list item or mapping entry, each made visible."""
    value = _flag_times(value)
    if value is None or value == [] or value == {} or value == "":
        return text("-" if value is None else json.dumps(value), style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, list):
        return lines([plain(v) for v in value])
    if isinstance(value, dict):
        return lines([f"{k}: {plain(v)}" for k, v in value.items()])
    return text(value)


def _decoded(key: str, value: Any) -> Text | None:
    """The failure actions and triggers as diff and history show them (render/fields.py):
    every field named, one action or trigger a line. The raw bytes are the hex rows of the
    values tables below (FailureActions, TriggerInfo\\N)."""
    if key == "failure_actions" and isinstance(value, Mapping):
        return lines(failure_actions_lines(value))
    if key == "triggers" and isinstance(value, list) and value:
        return lines(trigger_lines(value))
    return None


def _values_table(title: str, values: Mapping[str, Mapping[str, Any]]) -> DataTable:
    table = data_table(title=title, title_justify="left", header_style="bold", show_lines=True)
    table.add_column("value", overflow="fold")
    table.add_column("type")
    table.add_column("size", justify="right")
    table.add_column("hex", overflow="fold", max_width=72)
    table.add_column("as text / number", overflow="fold")
    for name, item in values.items():
        type_name = str(item.get("type", ""))
        hex_data = str(item.get("hex", ""))
        extra = "" if item.get("exact", True) else f" (re-encoded by {item.get('reader')})"
        table.add_row(
            name if name else "(default)",
            type_name + extra,
            str(item.get("size", "")),
            hex_data,
            readable(type_name, hex_data),
        )
    return table


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list) and value and any(isinstance(v, Mapping) for v in value):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    else:
        shown = plain(value)
        out.append((prefix, printable(shown)))


def _trigger_time(trigger: Mapping[str, Any]) -> str:
    """A TriggerInfo subkey's last write, flagged like every key time (0: not set)."""
    raw = trigger.get("last_write_filetime")
    if isinstance(raw, int):
        return flagged_iso(raw)
    return str(trigger.get("last_write") or "-")


def _file_time(name: str, shown: str) -> str:
    """An NTFS time of a file's facts (ISO text) with a flag when it is 0 or implausible."""
    if not name.startswith("timestamps."):
        return shown
    flag = datetime_flag(iso_to_datetime(shown))
    return f"{shown} ({flag})" if flag else shown


def _file_table(title: str, facts: Mapping[str, Any]) -> DataTable:
    """The facts of one binary: every field, nested ones dotted (signature.status, pe.machine...)."""
    table = data_table(title=title, title_justify="left", header_style="bold")
    table.add_column("fact", no_wrap=True)
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, str]] = []
    _flatten("", facts, rows)
    for name, shown in rows:
        table.add_row(name, _file_time(name, shown))
    return table


def service_view(data: Mapping[str, Any], context: DatabaseContext | None = None) -> Group:
    """A rich renderable of one record's :meth:`~ServiceRecord.to_dict` mapping."""
    parts: list[Any] = []
    sources = data.get("sources") or {}
    fields = data_grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column(overflow="fold")
    fields.add_column(style="dim", no_wrap=True)
    for key, value in data.items():
        if key in _SECTIONS:
            continue
        if key == "last_write" and "last_write_filetime" in data:
            # a zero or absurd key time is said so, not shown as a date (the raw FILETIME is the next row)
            value = flagged_iso(data["last_write_filetime"]) or value
        shown = _decoded(key, value)
        fields.add_row(key, shown if shown is not None else _value(value), sources.get(key, ""))
    status = data.get("status", "")
    reason = f" ({data['reject_reason']})" if data.get("reject_reason") else ""
    cs = data.get("control_set")
    header = f"{data.get('name')}  -  ControlSet{cs:03d}  -  {status}{reason}" if cs is not None else data.get("name")
    parts.append(Panel(fields, title=text(header), title_align="left"))

    parts.append(_values_table("values of the service key", data.get("raw_values") or {}))
    if data.get("parameters_raw"):
        parts.append(_values_table("values of Parameters", data["parameters_raw"]))
    for trigger in data.get("triggers_raw") or ():
        parts.append(
            _values_table(
                f"TriggerInfo\\{trigger.get('subkey')} (last write {_trigger_time(trigger)})",
                trigger.get("values") or {},
            )
        )
    if data.get("subkey_last_writes"):
        grid = data_table(title="subkeys read", title_justify="left", header_style="bold")
        grid.add_column("subkey")
        grid.add_column("last write (UTC)")
        grid.add_column("FILETIME")
        filetimes = data.get("subkey_last_writes_filetime") or {}
        for name, when in data["subkey_last_writes"].items():
            raw = filetimes.get(name)
            when_shown = shown_filetime(raw) if isinstance(raw, int) else when or "-"
            grid.add_row(name, when_shown, str(raw if raw is not None else ""))
        parts.append(grid)
    for key, title in _FILE_SECTIONS:
        if data.get(key):
            parts.append(_file_table(title, data[key]))
    if context is not None:
        parts += _context_tables(data, context)
    diags = data.get("diagnostics") or []
    if diags:
        table = data_table(title="diagnostics", title_justify="left", header_style="bold")
        for col in ("level", "code", "field", "message"):
            table.add_column(col, overflow="fold")
        for d in diags:
            level = d.get("level", "")
            table.add_row(
                text(level, style=_LEVEL_STYLE.get(level, "")),
                d.get("code", ""),
                d.get("field", ""),
                d.get("message", ""),
            )
        parts.append(table)
    else:
        parts.append(Text("diagnostics: none"))
    return Group(*parts)


def _context_tables(data: Mapping[str, Any], context: DatabaseContext) -> list[Any]:
    out: list[Any] = []
    env = context.environment
    used = data.get("env_vars") or {}
    if used:
        table = data_table(title="environment variables used", title_justify="left", header_style="bold")
        for col in ("variable", "value", "source"):
            table.add_column(col, overflow="fold")
        for name in used:
            item = env.variables.get(name.upper())
            if item is None:
                table.add_row(name, Text("(unknown: left as written)", style="yellow"), "")
            else:
                table.add_row(item[0], item[1], item[2])
        out.append(table)
    group = data.get("svchost_group")
    software = context.software
    if group and software is not None:
        entry = software.group(group)
        if entry is not None:
            table = data_table(
                title=f"SOFTWARE svchost group {quoted(entry.name)}", title_justify="left", header_style="bold"
            )
            table.add_column("members", overflow="fold")
            table.add_column("per-instance settings", overflow="fold")
            settings = [f"{v.name} = {readable(v.type_name, v.data.hex()) or v.data.hex()}" for v in entry.settings]
            table.add_row(", ".join(entry.members) or "-", lines(settings) if settings else "-")
            out.append(table)
    return out


def print_services(
    records: Sequence[ServiceRecord], console: Console, contexts: Mapping[int, DatabaseContext] | None = None
) -> None:
    for rec in records:
        context = (contexts or {}).get(rec.control_set) if rec.control_set is not None else None
        console.print(service_view(rec.to_dict(), context))


__all__ = ["print_services", "readable", "service_view"]
