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
from typing import TYPE_CHECKING, Any

from hivescan.files.columns import FILE_BOOL_COLUMNS, FILE_FLAT_COLUMNS, FILE_INT_COLUMNS, flat_file_columns
from hivescan.scm.record import ServiceRecord
from hivescan.textsafe import deep_escape

if TYPE_CHECKING:  # pandas is imported when a frame is built: the column lists below are also
    import pandas as pd  # the triage schema's, and a triage parent never builds a frame

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
    "group_order_index",
    "tag_order_index",
    "order_key",
    "last_write_filetime",
    "diagnostic_count",
    "recovery_cell_offset",
    *FILE_INT_COLUMNS,
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
    "image_path_source",
    "load_phase",
    "parser",
    "hive_path",
    "hive_sha256",
    "recovery_confidence",
    "recovered_status",
    # named values (topic: decoders)
    "service_sid_type_name",
    "launch_protected_name",
    "user_service_flags_name",
    "delayed_auto_start_name",
]
JSON_COLUMNS = [
    "triggers_raw",
    "subkey_last_writes",
    "subkey_last_writes_filetime",
    "sources",
    "location",
    "env_vars",
    "service_events",
    "event_facts",
]
BOOL_COLUMNS = [
    "changed_by_log_replay",
    "unquoted_path_risk",
    "group_known",
    "svchost_listed",
    "default_sd_applies",
    "key_writable_by_low_privilege",
    *FILE_BOOL_COLUMNS,
]
RAW_VALUE_COLUMNS = ["raw_values", "parameters_raw"]
# ``json.dumps(v, ensure_ascii=True, sort_keys=True)`` builds a new encoder on every call (only
# the all-defaults call reuses one); the same encoder built once gives the same text
_SORTED_JSON = json.JSONEncoder(ensure_ascii=True, sort_keys=True).encode
# decoded values (topic: decoders): nested -> JSON text (None stays missing), flags -> nullable booleans
DECODED_JSON_COLUMNS = ["failure_actions", "triggers", "security_access"]
# the binaries (topic: files): the whole facts as JSON text, and flat columns for filtering
FILE_JSON_COLUMNS = ["image_file", "service_dll_file"]
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
            row[col] = _SORTED_JSON(row[col])
    for col in DECODED_JSON_COLUMNS:
        if row.get(col) is not None:
            row[col] = json.dumps(row[col], ensure_ascii=True)
    row.update(flat_file_columns(row))
    for col in FILE_JSON_COLUMNS:
        if row.get(col) is not None:
            row[col] = _SORTED_JSON(row[col])
    row.setdefault("location", "{}")
    if not escape:
        return row
    return {key: deep_escape(value) for key, value in row.items()}


def services_frame(records: Iterable[ServiceRecord]) -> pd.DataFrame:
    import pandas as pd

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
    for col in BOOL_COLUMNS:
        if col in frame:
            frame[col] = frame[col].astype("boolean")
    ordered = [c for c in FIRST_COLUMNS if c in frame] + [c for c in frame.columns if c not in FIRST_COLUMNS]
    return frame[ordered]


def _plain(value: Any, isna: Any) -> Any:
    """A Parquet cell back to plain Python (numpy arrays -> lists, NA -> None); ``isna`` is
    ``pandas.isna``."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v, isna) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, isna) for k, v in value.items()}
    try:
        if isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records_from_frame(frame: pd.DataFrame) -> list[ServiceRecord]:
    """The inverse of :func:`services_frame` (e.g. a baseline read from Parquet)."""
    import pandas as pd

    out = []
    for row in frame.to_dict(orient="records"):
        data = {k: _plain(v, pd.isna) for k, v in row.items()}
        for col in RAW_VALUE_COLUMNS:
            data[col] = {item["name"]: item for item in data.get(col) or []}
        for col in FILE_FLAT_COLUMNS:
            data.pop(col, None)
        for col in [*JSON_COLUMNS, *DECODED_JSON_COLUMNS, *FILE_JSON_COLUMNS, "diagnostics"]:
            if isinstance(data.get(col), str):
                data[col] = json.loads(data[col])
        for col in ("diagnostic_codes", "diagnostic_count", "last_write"):
            data.pop(col, None)
        out.append(ServiceRecord.from_dict(data))
    return out


def read_records_parquet(path: Any) -> list[ServiceRecord]:
    """Records saved with ``hivescan services -f parquet`` or ``hivescan baseline build``."""
    import pandas as pd

    return records_from_frame(pd.read_parquet(path))
