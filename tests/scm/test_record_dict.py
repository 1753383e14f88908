"""``ServiceRecord.to_dict`` copies every plain field (tuples as lists), whatever shortcut it takes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hivescan
from hivescan.scm.record import PLAIN_FIELDS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _json_form(name: str, value: Any) -> Any:
    if name == "env_vars":  # (name, known) pairs, given as a mapping
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def test_every_plain_field_is_in_the_dict_with_its_value() -> None:
    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        records = hive.services("all")
    checked = 0
    for record in records:
        row = record.to_dict()
        for name in PLAIN_FIELDS:
            assert name in row, name
            assert row[name] == _json_form(name, getattr(record, name)), name
            assert type(row[name]) is type(_json_form(name, getattr(record, name))), name
            checked += 1
    assert checked == len(records) * len(PLAIN_FIELDS) > 0
