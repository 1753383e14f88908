"""The shortcut of ``mark_log_changes``: records whose compared fields are equal skip ``to_dict``.

It must never hide a change: every field it leaves out must be one the compared JSONL fields
do not depend on, and every field it compares must be seen. Checked by changing each field
of real records in turn (fixtures/demo-SYSTEM; the Windows 10 hive when present), and end to
end on dirty hives: the marked records are the same with and without the shortcut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

import hivescan
from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.scm import logdiff
from hivescan.scm.logdiff import _NOT_COMPARED, _comparable, _same, mark_log_changes
from hivescan.scm.record import HiveRef, ServiceRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _records(path: Path, logs: str = "none") -> list[ServiceRecord]:
    with hivescan.open_hive(path, logs=logs) as hive:
        return hive.services("all")


def _changed(value: Any, kind: str, pool: list[ServiceRecord]) -> Any:
    """A different value of the field's declared type."""
    if kind == "Status":
        return "rejected" if value != "rejected" else "database"
    if kind == "str":
        return value + "-changed"
    if kind == "str | None":
        return (value or "") + "-changed"
    if kind == "int | None":
        return (value or 0) + 1
    if kind == "bool":
        return not value
    if kind == "bool | None":
        return not value
    if kind == "tuple[str, ...]":
        return (*value, "changed")
    if kind == "tuple[tuple[str, bool], ...]":
        return (*value, ("CHANGED", True))
    if kind.startswith("Mapping[str, "):
        return {**(value or {}), "Changed": 1 if kind.endswith("int]") else "derived"}
    if kind == "tuple[Diagnostic, ...]":
        return (*value, Diagnostic("changed", "", "changed"))
    if kind == "tuple[RawValue, ...]":
        return (*value, RawValue("Changed", 4, b"\x01\x00\x00\x00"))
    if kind == "tuple[Mapping[str, Any], ...]":
        return (*value, {"subkey": "99", "last_write_filetime": 1, "values": ()})
    if kind == "FailureActions | None":
        other = next(r.failure_actions for r in pool if r.failure_actions not in (None, value))
        return None if value is not None else other
    if kind == "tuple[Trigger, ...]":
        other = next(r.triggers for r in pool if r.triggers and r.triggers != value)
        return () if value else other
    raise AssertionError(f"no way to change a {kind} field")


def _check_fields(records: list[ServiceRecord]) -> None:
    for record in records:
        before = _comparable(record)
        for f in fields(ServiceRecord):
            if f.name == "origin":
                continue
            changed = replace(record, **{f.name: _changed(getattr(record, f.name), str(f.type), records)})
            if f.name in _NOT_COMPARED:  # left out: must not show in the comparison
                assert _comparable(changed) == before, f.name
                assert _same(record, changed), f.name
            else:  # compared: the shortcut must see it
                assert not _same(record, changed), f.name
        # provenance: only the set, the key path and the FILETIME are compared
        moved = replace(
            record.origin, hive=HiveRef("elsewhere", "00" * 32, {"derived": "x"}), parser="regipy", from_log=True
        )
        assert _same(record, replace(record, origin=moved))
        assert _comparable(replace(record, origin=moved)) == before
        for part, value in (
            ("control_set", (record.origin.control_set or 0) + 1),
            ("key_path", record.origin.key_path + "x"),
            ("last_write_filetime", record.origin.last_write_filetime + 1),
        ):
            assert not _same(record, replace(record, origin=replace(record.origin, **{part: value}))), part


def test_every_field_is_compared_or_irrelevant() -> None:
    records = _records(FIXTURES / "demo-SYSTEM")
    rich = [r for r in records if r.failure_actions or r.triggers or r.security_hex or r.parameters_raw]
    assert len(rich) >= 10
    _check_fields(rich + [r for r in records if r.status == "rejected"][:3])


def test_every_field_is_compared_or_irrelevant_on_windows_10(shared: Callable[[str], Path]) -> None:
    records = _records(shared("win10-dirty-SYSTEM"))
    _check_fields(records[::25])


def _marked_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _records(path), _records(path, "auto")
    fast = mark_log_changes(before, after)
    with monkeypatch.context() as patched:
        patched.setattr(logdiff, "_same", lambda old, new: False)  # every pair compared in full
        full = mark_log_changes(before, after)
    assert fast == full
    assert any(r.log_replay_changes for r in fast[0])


def test_marking_with_the_shortcut_equals_marking_without(monkeypatch: pytest.MonkeyPatch) -> None:
    _marked_both_ways(FIXTURES / "dirty-SYSTEM", monkeypatch)


def test_marking_with_the_shortcut_equals_marking_without_on_windows_10(
    shared: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _marked_both_ways(shared("win10-dirty-SYSTEM"), monkeypatch)
