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
from rich.table import Table
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
from hivescan.scm.database import DatabaseContext
from hivescan.scm.record import ServiceRecord

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


def _value(value: Any) -> Text:
    if value is None or value == [] or value == {} or value == "":
        return Text("-" if value is None else json.dumps(value), style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, list):
        return Text("\n".join(str(v) if not isinstance(v, dict | list) else json.dumps(v) for v in value))
    if isinstance(value, dict):
        return Text("\n".join(f"{k}: {json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in value.items()))
    return Text(str(value))


def _values_table(title: str, values: Mapping[str, Mapping[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold", show_lines=True)
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


def _printable(text: str) -> str:
    """Evidence text with control characters shown as escapes (a file's stream is data)."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in text)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list) and value and any(isinstance(v, Mapping) for v in value):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    else:
        text = "-" if value is None else json.dumps(value) if isinstance(value, list | bool) else str(value)
        out.append((prefix, _printable(text)))


def _file_table(title: str, facts: Mapping[str, Any]) -> Table:
    """The facts of one binary: every field, nested ones dotted (signature.status, pe.machine...)."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("fact", no_wrap=True)
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, str]] = []
    _flatten("", facts, rows)
    for name, text in rows:
        table.add_row(name, Text(text))
    return table


def service_view(data: Mapping[str, Any], context: DatabaseContext | None = None) -> Group:
    """A rich renderable of one record's :meth:`~ServiceRecord.to_dict` mapping."""
    parts: list[Any] = []
    sources = data.get("sources") or {}
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column(overflow="fold")
    fields.add_column(style="dim", no_wrap=True)
    for key, value in data.items():
        if key in _SECTIONS:
            continue
        fields.add_row(key, _value(value), sources.get(key, ""))
    status = data.get("status", "")
    reason = f" ({data['reject_reason']})" if data.get("reject_reason") else ""
    cs = data.get("control_set")
    header = f"{data.get('name')}  -  ControlSet{cs:03d}  -  {status}{reason}" if cs is not None else data.get("name")
    parts.append(Panel(fields, title=str(header), title_align="left"))

    parts.append(_values_table("values of the service key", data.get("raw_values") or {}))
    if data.get("parameters_raw"):
        parts.append(_values_table("values of Parameters", data["parameters_raw"]))
    for trigger in data.get("triggers_raw") or ():
        parts.append(
            _values_table(
                f"TriggerInfo\\{trigger.get('subkey')} (last write {trigger.get('last_write') or '-'})",
                trigger.get("values") or {},
            )
        )
    if data.get("subkey_last_writes"):
        grid = Table(title="subkeys read", title_justify="left", header_style="bold")
        grid.add_column("subkey")
        grid.add_column("last write (UTC)")
        grid.add_column("FILETIME")
        filetimes = data.get("subkey_last_writes_filetime") or {}
        for name, when in data["subkey_last_writes"].items():
            grid.add_row(name, when or "-", str(filetimes.get(name, "")))
        parts.append(grid)
    for key, title in _FILE_SECTIONS:
        if data.get(key):
            parts.append(_file_table(title, data[key]))
    if context is not None:
        parts += _context_tables(data, context)
    diags = data.get("diagnostics") or []
    if diags:
        table = Table(title="diagnostics", title_justify="left", header_style="bold")
        for col in ("level", "code", "field", "message"):
            table.add_column(col, overflow="fold")
        for d in diags:
            level = d.get("level", "")
            table.add_row(
                Text(level, style=_LEVEL_STYLE.get(level, "")),
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
        table = Table(title="environment variables used", title_justify="left", header_style="bold")
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
            table = Table(title=f"SOFTWARE svchost group {entry.name!r}", title_justify="left", header_style="bold")
            table.add_column("members", overflow="fold")
            table.add_column("per-instance settings", overflow="fold")
            settings = "\n".join(
                f"{v.name} = {readable(v.type_name, v.data.hex()) or v.data.hex()}" for v in entry.settings
            )
            table.add_row(", ".join(entry.members) or "-", settings or "-")
            out.append(table)
    return out


def print_services(
    records: Sequence[ServiceRecord], console: Console, contexts: Mapping[int, DatabaseContext] | None = None
) -> None:
    for rec in records:
        context = (contexts or {}).get(rec.control_set) if rec.control_set is not None else None
        console.print(service_view(rec.to_dict(), context))


__all__ = ["print_services", "readable", "service_view"]
