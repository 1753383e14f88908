"""The JSONL form of a key's raw values: ``{name: {type, hex, size, ...}}`` and back.

Used by a record's ``to_dict``/``from_dict`` (hivescan/scm/service_record.py) and by the
triage service tables (hivescan/triage/service_json.py); it knows nothing of records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_TYPE_NUMBERS


def raw_value_map(values: tuple[RawValue, ...] | list[RawValue]) -> dict[str, dict[str, Any]]:
    """Values as ``{name: {type, hex, size}}``; a later duplicate (ci) keeps the first."""
    out: dict[str, dict[str, Any]] = {}
    for value in values:
        out.setdefault(value.name, value.to_dict())
    return out


def raw_values_from_map(data: Mapping[str, Mapping[str, Any]]) -> tuple[RawValue, ...]:
    out = []
    for name, item in data.items():
        reg_type = item.get("type", 0)
        if isinstance(reg_type, str):
            reg_type = REG_TYPE_NUMBERS.get(reg_type, int(reg_type.rsplit("0x", 1)[-1], 16) if "0x" in reg_type else 0)
        out.append(
            RawValue(
                name,
                int(reg_type),
                bytes.fromhex(item.get("hex", "")),
                item.get("reader", "cells"),
                bool(item.get("exact", True)),
                tuple(item.get("notes", ())),
            )
        )
    return tuple(out)


__all__ = ["raw_value_map", "raw_values_from_map"]
