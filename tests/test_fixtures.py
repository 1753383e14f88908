"""Fixture hives are built from their specs, reproducibly; the spec language does what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

import hivescan
from hivescan.testing.spec import SpecError, build_from_spec, load_spec
from tests.conftest import FIXTURES


@pytest.mark.parametrize("spec", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_committed_fixture_hives_equal_a_fresh_build(spec: Path) -> None:
    loaded = load_spec(spec)
    committed = spec.with_suffix("")
    files = {committed: build_from_spec(loaded).data}
    if loaded.get("logs"):  # a dirty hive: the primary file and its logs
        from hivescan.testing.logs import build_dirty_from_spec

        dirty = build_dirty_from_spec(loaded)
        files = {committed: dirty.primary} | {committed.with_name(committed.name + s): d for s, d in dirty.logs.items()}
    for path, built in files.items():
        assert path.is_file(), f"run `python -m hivescan.testing build` and commit {path.name}"
        assert path.read_bytes() == built, f"{path.name} is stale: rebuild it from {spec.name}"


def test_demo_hive_is_what_its_spec_says() -> None:
    spec = load_spec(FIXTURES / "demo-SYSTEM.yaml")
    sets = {cs["number"]: cs for cs in spec["control_sets"]}
    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        by_set: dict[int, set[str]] = {}
        for rec in hive.services("all"):
            by_set.setdefault(rec.control_set or 0, set()).add(rec.name)
    assert by_set[2] == set(sets[2]["services"])
    dropped = {n.upper() for n in sets[1]["drop_services"]}
    want_1 = {n for n in sets[2]["services"] if n.upper() not in dropped} | set(sets[1]["services"])
    assert by_set[1] == want_1


def _spec(services: dict) -> dict:
    return {"keys": {"Select": {"values": {"Current": 1}}}, "control_sets": [{"number": 1, "services": services}]}


def test_value_forms(tmp_path: Path) -> None:
    spec = _spec(
        {
            "Svc": {
                "values": {
                    "Type": 16,
                    "Start": {"hex": "02", "type": "REG_BINARY"},
                    "ErrorControl": {"dword": 1},
                    "ImagePath": {"expand_sz": r"C:\a.exe"},
                    "DisplayName": {"sz": "Shown", "tail": "hidden"},
                    "DependOnService": ["A", "B"],
                    "Big": {"qword": 2**40},
                    "G": {"guid": "bc90d167-9470-4139-a9ba-be0bbbf5b74d"},
                    "FailureActions": {
                        "encoded": "failure_actions",
                        "reset_period_s": 60,
                        "actions": [{"action": "restart", "delay_ms": 5}],
                    },
                }
            }
        }
    )
    path = tmp_path / "SYSTEM"
    path.write_bytes(build_from_spec(spec).data)
    (rec,) = hivescan.open_hive(path).services()
    assert (rec.start, rec.error_control, rec.image_path, rec.display_name) == (2, 1, r"C:\a.exe", "Shown")
    assert rec.depend_on_service == ("A", "B")
    assert "hidden_tail" in rec.diagnostic_codes
    raw = {v.name: v.data for v in rec.raw_values}
    assert raw["G"].hex() == "67d190bc70943941a9babe0bbbf5b74d"
    assert rec.failure_actions_hex == "3c000000" + "00" * 8 + "01000000" + "14000000" + "01000000" + "05000000"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_spec({None: {"values": {"Type": 1}}}), "quote it"),
        (_spec({"S": {"values": {"X": {"nope": 1}}}}), "value spec needs"),
        (_spec({"S": {"bogus": 1}}), "unknown key field"),
        ({"control_sets": [{"number": 2, "copy_of": 1}]}, "must be defined earlier"),
        ({"hive": {"colour": "red"}}, "unknown field"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build_from_spec(spec)


def test_corruption_operations(tmp_path: Path) -> None:
    spec = _spec({"A": {"values": {"Type": 16, "Start": 3, "ErrorControl": 1}}})
    spec["corruptions"] = [{"zero_subkey_list": r"ControlSet001\Services"}]
    path = tmp_path / "SYSTEM"
    path.write_bytes(build_from_spec(spec).data)
    with hivescan.open_hive(path) as hive:
        assert hive.services() == []
        assert "subkey_list_incomplete" in {d.code for d in hive.hive_diagnostics()}
