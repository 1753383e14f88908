"""Service history across snapshots: pure events, loading (RegBack, --history), the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.history import Snapshot, order_snapshots, service_history
from hivescan.snapshots import hive_snapshots, load_history, regback_path
from hivescan.testing.spec import build_from_spec, load_spec
from tests.conftest import FIXTURES

runner = CliRunner()


def _build(tmp_path: Path, name: str, target: Path | None = None) -> Path:
    out = target or tmp_path / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_from_spec(load_spec(FIXTURES / f"{name}.yaml")).data)
    return out


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return _build(tmp_path, "history-SYSTEM"), _build(tmp_path, "history-old-SYSTEM")


def _events(history: object) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(e.name, e.kind, tuple(c.field for c in e.changes)) for e in history.events}  # type: ignore[attr-defined]


def test_committed_history_fixtures_match_their_specs() -> None:
    for name in ("history-SYSTEM", "history-old-SYSTEM"):
        assert (FIXTURES / name).read_bytes() == build_from_spec(load_spec(FIXTURES / f"{name}.yaml")).data


def test_an_older_copy_shows_what_appeared_changed_and_disappeared(pair: tuple[Path, Path]) -> None:
    new, old = pair
    history = load_history(new, [old])
    assert [s.label.rsplit("/", 1)[-1] for s in history.snapshots] == [
        "history-old-SYSTEM:ControlSet002",
        "history-old-SYSTEM:ControlSet001",
        "history-SYSTEM:ControlSet001",
    ]
    assert [s.source for s in history.snapshots] == ["history", "history", "hive"]
    assert _events(history) == {
        ("Updater", "appeared", ()),
        ("Updater", "changed", ("start", "image_path")),
        ("LegacyAgent", "disappeared", ()),
        ("Backdoor", "appeared", ()),
    }
    (change,) = [e for e in history.events if e.kind == "changed"]
    by_field = {c.field: (c.before, c.after) for c in change.changes}
    assert by_field["image_path"] == ('"C:\\Program Files\\Vendor\\update.exe"', "C:\\Users\\Public\\update.exe")
    assert by_field["start"] == (3, 2)
    assert change.previous is not None and change.previous.label.endswith("history-old-SYSTEM:ControlSet001")
    assert change.key_last_write == "2024-03-09T17:41:00.000000Z"


def test_regback_copy_next_to_the_hive_is_a_labelled_snapshot(tmp_path: Path) -> None:
    hive = _build(tmp_path, "history-SYSTEM", tmp_path / "config" / "SYSTEM")
    _build(tmp_path, "history-old-SYSTEM", tmp_path / "config" / "RegBack" / "SYSTEM")
    assert regback_path(hive) == tmp_path / "config" / "RegBack" / "SYSTEM"
    history = load_history(hive)
    assert {s.source for s in history.snapshots} == {"regback", "hive"}
    assert any(s.label.startswith(str(tmp_path / "config" / "RegBack" / "SYSTEM")) for s in history.snapshots)
    assert ("Backdoor", "appeared", ()) in _events(history)
    assert {s.source for s in load_history(hive, regback=False).snapshots} == {"hive"}


def test_empty_regback_is_noted_not_an_error(tmp_path: Path) -> None:
    hive = _build(tmp_path, "history-SYSTEM", tmp_path / "config" / "SYSTEM")
    (tmp_path / "config" / "RegBack").mkdir()
    (tmp_path / "config" / "RegBack" / "SYSTEM").write_bytes(b"")
    history = load_history(hive)
    codes = [d.code for d in history.diagnostics]
    assert "regback_empty" in codes and "regback_unreadable" not in codes
    # the history fixtures have no Control key: the set-level pass says so, as warnings, not errors
    assert all(d.level != "error" for d in history.diagnostics)
    assert {s.source for s in history.snapshots} == {"hive"}


def test_history_is_pure_and_ordered_by_time(pair: tuple[Path, Path]) -> None:
    new, old = pair
    with hivescan.open_hive(new) as a, hivescan.open_hive(old) as b:
        snaps = hive_snapshots(a, "hive", "new") + hive_snapshots(b, "history", "old")
    assert [s.label for s in order_snapshots(snaps)] == ["old:ControlSet002", "old:ControlSet001", "new:ControlSet001"]
    assert service_history(list(reversed(snaps))) == service_history(snaps)
    present = [e for e in service_history(snaps, include_present=True) if e.kind == "present"]
    assert {e.name for e in present} == {"Tcpip", "LegacyAgent"}
    empty = Snapshot("x", "hive", "x", "0" * 64, 1, 1, 1, ())
    assert service_history([empty]) == []


def test_cli_history_formats(pair: tuple[Path, Path]) -> None:
    new, old = pair
    result = runner.invoke(app, ["history", str(new), str(old), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(r["name"], r["event"]) for r in rows} >= {("Backdoor", "appeared"), ("LegacyAgent", "disappeared")}
    result = runner.invoke(app, ["history", str(new), "--history", str(old), "-f", "csv"])
    assert result.exit_code == 0
    flat = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["field"] for r in flat if r["event"] == "changed"} == {"start", "image_path"}
    result = runner.invoke(app, ["history", str(new), "--history", str(old), "-f", "json"])
    doc = json.loads(result.stdout)
    assert len(doc["snapshots"]) == 3 and doc["events"]
    result = runner.invoke(app, ["history", str(new), "--history", str(old)])
    assert result.exit_code == 0 and "Backdoor" in result.stdout and "appeared" in result.stdout
    result = runner.invoke(app, ["history", str(new), "-f", "parquet"])
    assert result.exit_code == 2


def test_cli_history_missing_copy_is_a_clear_error(pair: tuple[Path, Path], tmp_path: Path) -> None:
    new, _ = pair
    result = runner.invoke(app, ["history", str(new), "--history", str(tmp_path / "nope")])
    assert result.exit_code == 3
    assert "no such file" in result.stderr


def test_cli_services_deleted_and_info(tmp_path: Path) -> None:
    hive = _build(tmp_path, "deleted-SYSTEM")
    result = runner.invoke(app, ["services", str(hive), "--deleted", "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["name"] for r in rows if r["status"] == "deleted"} == {"PSEXESVC", "BTOBTO", "RmSvc", "Spooler"}
    assert all(r["recovery_confidence"] in ("high", "medium", "low") for r in rows if r["status"] == "deleted")
    plain = runner.invoke(app, ["services", str(hive), "-f", "jsonl", "-q"])
    assert {json.loads(line)["status"] for line in plain.stdout.splitlines()} == {"database"}
    info = runner.invoke(app, ["info", str(hive), "-f", "json"])
    assert json.loads(info.stdout)["recovered_services"] == {"deleted": 5, "orphaned": 3}
    table = runner.invoke(app, ["info", str(hive)])
    assert "5 deleted, 3 orphaned" in table.stdout


def test_history_names_the_fields_of_changed_failure_actions(tmp_path: Path) -> None:
    """failure_actions changes print as named fields (as `services` shows them), not as an array."""
    from hivescan.testing.encoders import encode_failure_actions
    from hivescan.testing.regf import HiveWriter, WKey

    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 2).set_dword("Default", 2).set_dword("LastKnownGood", 1)
    for number, delay in ((1, 60000), (2, 1000)):
        svc = root.key(f"ControlSet{number:03d}\\Services\\Agent")
        svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", "C:\\Agent\\agent.exe")
        svc.set_binary("FailureActions", encode_failure_actions(86400, [{"action": "restart", "delay_ms": delay}]))
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)  # type: ignore[arg-type]
    result = runner.invoke(app, ["history", str(hive), "-f", "json", "-q"])
    assert result.exit_code == 0, result.stderr
    changes = [c for e in json.loads(result.stdout)["events"] for c in e["changes"]]
    (failure,) = [c for c in changes if c["field"].startswith("failure_actions")]  # one change, one row
    assert failure["field"] == "failure_actions_hex" and bytes.fromhex(failure["before"])  # the raw blob
    assert failure["before_decoded"]["reset_period_s"] == 86400
    assert failure["before_decoded"]["actions"][0]["delay_ms"] == 60000
    assert failure["after_decoded"]["actions"][0]["delay_ms"] == 1000
    table = runner.invoke(app, ["history", str(hive), "-q"], env={"COLUMNS": "300"})
    assert table.exit_code == 0 and "reset_period_s: 86400" in table.stdout  # named, as diff shows them
