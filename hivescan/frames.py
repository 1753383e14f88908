"""Records -> one flat, typed pandas DataFrame (the only module that builds frames).

Column names match the JSONL field names. Integers are nullable (``Int64``), names and
labels are categoricals, ``last_write`` is a tz-aware UTC timestamp (NaT when the stored
FILETIME is not a possible date; ``last_write_filetime`` keeps the raw number). Nested data
stays lossless: raw values as lists of ``{name, type, hex, size}``, the rest as JSON text.

References: style.md R11.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from hivescan.scm.record import ServiceRecord
from hivescan.textsafe import deep_escape

INT_COLUMNS = [
    "control_set",
    "type",
    "start",
    "error_control",
    "tag",
    "service_dll_unload_on_stop",
    "failure_actions_on_non_crash",
    "delayed_auto_start",
    "service_sid_type",
    "preshutdown_timeout_ms",
    "launch_protected",
    "user_service_flags",
    "svchost_split_disable",
    "delete_flag",
    "last_write_filetime",
    "diagnostic_count",
]
CATEGORY_COLUMNS = [
    "name",
    "status",
    "reject_reason",
    "control_set_source",
    "type_name",
    "start_name",
    "error_control_name",
    "image_path_type",
    "service_dll_source",
    "service_dll_type",
    "parser",
    "hive_path",
    "hive_sha256",
]
JSON_COLUMNS = ["triggers_raw", "subkey_last_writes", "subkey_last_writes_filetime", "sources", "location"]
RAW_VALUE_COLUMNS = ["raw_values", "parameters_raw"]
FIRST_COLUMNS = [
    "name",
    "status",
    "control_set",
    "type",
    "type_name",
    "start",
    "start_name",
    "error_control",
    "error_control_name",
    "image_path",
    "service_dll",
    "object_name",
    "display_name",
    "last_write",
    "key_path",
    "hive_sha256",
]


def _raw_list(mapping: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Values as rows; ``exact``/``reader``/``notes`` say when bytes were re-encoded by a fallback parser."""
    return [
        {
            "name": name,
            "type": v["type"],
            "hex": v["hex"],
            "size": v["size"],
            "exact": v.get("exact", True),
            "reader": v.get("reader", "cells"),
            "notes": list(v.get("notes", ())),
        }
        for name, v in mapping.items()
    ]


def record_row(record: ServiceRecord, *, escape: bool = True) -> dict[str, Any]:
    """One frame row: the JSONL mapping with nested parts made tabular.

    ``escape=False`` leaves lone UTF-16 surrogates in strings, for callers that escape only
    when an encoder rejects them (clean hives have none; escaping every row costs a third
    of the row's time).
    """
    row = record.to_dict()
    row["diagnostic_codes"] = [d["code"] for d in row["diagnostics"]]
    row["diagnostic_count"] = len(row["diagnostics"])
    row["diagnostics"] = json.dumps(row["diagnostics"], ensure_ascii=True)
    for col in RAW_VALUE_COLUMNS:
        row[col] = _raw_list(row.get(col) or {})
    for col in JSON_COLUMNS:
        if col in row:
            row[col] = json.dumps(row[col], ensure_ascii=True, sort_keys=True)
    row.setdefault("location", "{}")
    if not escape:
        return row
    return {key: deep_escape(value) for key, value in row.items()}


def services_frame(records: Iterable[ServiceRecord]) -> pd.DataFrame:
    rows = [record_row(r) for r in records]
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=FIRST_COLUMNS)
    for col in INT_COLUMNS:
        if col in frame:
            frame[col] = pd.array(frame[col].tolist(), dtype="Int64")
    if "last_write" in frame:
        frame["last_write"] = pd.to_datetime(frame["last_write"], utc=True, errors="coerce", format="ISO8601")
    for col in CATEGORY_COLUMNS:
        if col in frame:
            frame[col] = frame[col].astype("category")
    if "changed_by_log_replay" in frame:
        frame["changed_by_log_replay"] = frame["changed_by_log_replay"].astype("boolean")
    ordered = [c for c in FIRST_COLUMNS if c in frame] + [c for c in frame.columns if c not in FIRST_COLUMNS]
    return frame[ordered]
