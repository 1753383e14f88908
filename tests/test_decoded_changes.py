"""``diff`` and ``history`` show a changed field's decoded form next to its raw value: named
numbers (type, start, service SID type, launch protection...), the failure actions by field,
the triggers by type, action and GUID; ``diff`` compares the triggers too."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.render.fields import change_lines
from hivescan.scm.failure_actions import decode_failure_actions
from hivescan.testing.encoders import encode_failure_actions, trigger_values
from hivescan.testing.regf import HiveWriter, WKey

DOMAIN_JOIN = "{1ce20aba-9851-4421-9430-1ddeb766e809}"
FA_BEFORE = encode_failure_actions(86400, [{"action": "restart", "delay_ms": 60000}])
FA_AFTER = encode_failure_actions(0, [{"action": "run_command", "delay_ms": 0}], command=1)


def _hive(path: Path, *, start: int, type_: int, fa: bytes, sid: int, protected: int, trigger: int) -> Path:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    svc = root.key("ControlSet001\\Services\\Svc")
    svc.set_dword("Type", type_).set_dword("Start", start).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "C:\\svc.exe")
    svc.set_binary("FailureActions", fa).set_dword("ServiceSidType", sid).set_dword("LaunchProtected", protected)
    for name, reg_type, data in trigger_values(trigger, 1, DOMAIN_JOIN):
        svc.key("TriggerInfo\\0").set(name, reg_type, data)
    path.write_bytes(HiveWriter(root).build().data)
    return path


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    a = _hive(tmp_path / "A", start=2, type_=16, fa=FA_BEFORE, sid=1, protected=0, trigger=1)
    b = _hive(tmp_path / "B", start=3, type_=32, fa=FA_AFTER, sid=3, protected=2, trigger=2)
    return a, b


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def test_diff_table_shows_decoded_fields_next_to_the_raw_values(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    out = _run("diff", str(a), str(b), "-q")
    for shown in (
        "16 (win32_own_process)",
        "32 (win32_share_process)",
        "2 (auto)",
        "3 (demand)",
        "1 (unrestricted)",
        "3 (restricted)",
        "0 (none)",
        "2 (windows_light)",
        "actions: restart (type 1) after 60000 ms",
        "actions: run_command (type 3) after 0 ms",
        "reset_period_s: 86400",
        f"hex: {FA_BEFORE.hex()}",
        f"hex: {FA_AFTER.hex()}",
        "TriggerInfo\\0: type 1 (device_interface_arrival)",
        "TriggerInfo\\0: type 2 (ip_address_availability)",
        "Type=REG_DWORD:02000000",
    ):
        assert shown in out, shown


def test_diff_json_and_csv_keep_the_raw_value_and_add_the_decoded_one(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    (change,) = [json.loads(line) for line in _run("diff", str(a), str(b), "-q", "-f", "jsonl").splitlines()]
    fields = {f["field"]: f for f in change["fields"]}
    assert fields["start"] == {
        "field": "start",
        "before": 2,
        "after": 3,
        "before_decoded": "auto",
        "after_decoded": "demand",
    }
    fa = fields["failure_actions_hex"]
    assert fa["before"] == FA_BEFORE.hex() and fa["after_decoded"]["actions"] == [
        {"action": "run_command", "type": 3, "delay_ms": 0}
    ]
    triggers = fields["triggers"]
    assert triggers["before"][0]["values"]["Type"] == "REG_DWORD:01000000"
    assert [t["type_name"] for t in triggers["after_decoded"]] == ["ip_address_availability"]
    rows = list(csv.DictReader(io.StringIO(_run("diff", str(a), str(b), "-q", "-f", "csv"))))
    start = next(r for r in rows if r["field"] == "start")
    assert (start["value_before"], start["value_before_decoded"], start["value_after_decoded"]) == (
        "2",
        "auto",
        "demand",
    )


def test_history_table_shows_the_same_decoded_fields_whole(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    out = _run("history", str(b), str(a), "-q")
    for shown in (
        "2 (auto)",
        "3 (demand)",
        "1 (unrestricted)",
        "2 (windows_light)",
        "command_placeholder: 1",
        "on_non_crash_failures: -",  # the last field: nothing cut at 70 characters any more
        "TriggerInfo\\0: type 2",
        "raw TriggerInfo\\0: Type=REG_DWORD:02000000",
        "hex:",  # the raw blob beside the decoded form, in the same row (folded by the table)
    ):
        assert shown in out, shown
    assert "…" not in out
    assert "TriggerInfo subkey(s)" not in out  # no second row counting what the first one shows


def test_history_reports_each_failure_actions_and_trigger_change_once(tmp_path: Path) -> None:
    """One change, one row: the blob as failure_actions_hex with its decoded form beside it, the
    TriggerInfo subkeys as one triggers change (raw values, decoded beside); not a second row
    for the decoded form or a count."""
    a, b = _pair(tmp_path)
    (event,) = [
        e for e in map(json.loads, _run("history", str(b), str(a), "-q", "-f", "jsonl").splitlines()) if e["changes"]
    ]
    fields = [c["field"] for c in event["changes"]]
    assert len(fields) == len(set(fields))
    assert (
        "failure_actions" not in fields and fields.count("failure_actions_hex") == 1 and fields.count("triggers") == 1
    )
    changes = {c["field"]: c for c in event["changes"]}
    fa = changes["failure_actions_hex"]
    assert fa["before"] == FA_BEFORE.hex() and fa["after"] == FA_AFTER.hex()
    assert (
        fa["before_decoded"]["reset_period_s"] == 86400 and fa["after_decoded"]["actions"][0]["action"] == "run_command"
    )
    triggers = changes["triggers"]
    assert triggers["before"][0]["values"]["Type"] == "REG_DWORD:01000000"
    assert [t["type_name"] for t in triggers["after_decoded"]] == ["ip_address_availability"]
    timeline = _run("history", str(b), str(a), "-q")
    assert timeline.count("failure_actions_hex") == 1 and timeline.count("triggers") >= 1


@given(
    st.integers(0, 0xFFFFFFFF),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 0xFFFFFFFF)), max_size=5),
    st.binary(max_size=7),
)
def test_failure_actions_lines_name_every_action_and_keep_the_hex(
    reset: int, actions: list[tuple[int, int]], trailing: bytes
) -> None:
    data = encode_failure_actions(reset, [{"action": t, "delay_ms": d} for t, d in actions], trailing=trailing)
    decoded, _ = decode_failure_actions(data)
    shown = "\n".join(change_lines("failure_actions_hex", data.hex(), decoded.to_dict() if decoded else None))
    assert f"hex: {data.hex()}" in shown
    if decoded is not None:
        assert f"reset_period_s: {reset}" in shown
        for kind, delay in actions:
            assert f"(type {kind}) after {delay} ms" in shown


def test_show_names_failure_actions_and_triggers_as_diff_does(tmp_path: Path) -> None:
    _, b = _pair(tmp_path)
    out = _run("show", str(b), "Svc", "-q")
    assert "actions: run_command (type 3) after 0 ms" in out and "command_placeholder: 1" in out
    assert "TriggerInfo\\0: type 2 (ip_address_availability), action 1 (start)" in out
    assert FA_AFTER.hex() in out  # the raw bytes stay in the values table


def _win7_with_probe(tmp_path: Path, name: str, start: int, fa: bytes) -> Path:
    """A private copy of the real Windows 7 hive with a ``Probe`` service added by hivexsh."""
    from tests.conftest import shared_hive_edited_by_hivex

    folder = tmp_path / name
    folder.mkdir()
    script = [
        "cd \\ControlSet001\\Services",
        "add Probe",
        "cd Probe",
        "setval 5",
        "Type",
        "dword:0x10",
        "Start",
        f"dword:{start}",
        "ErrorControl",
        "dword:1",
        "ImagePath",
        "expandstring:%SystemRoot%\\probe.exe",
        "FailureActions",
        "hex:3:" + ",".join(f"{b:02x}" for b in fa),
        "commit",
    ]
    return shared_hive_edited_by_hivex("win7-SYSTEM", folder, "\n".join(script) + "\n")


def test_diff_on_the_real_win7_hive_decodes_as_the_records_do(tmp_path: Path) -> None:
    a = _win7_with_probe(tmp_path, "a", 2, FA_BEFORE)
    b = _win7_with_probe(tmp_path, "b", 4, FA_AFTER)
    changes = [json.loads(line) for line in _run("diff", str(a), str(b), "-q", "-f", "jsonl").splitlines()]
    assert [c["name"] for c in changes] == ["Probe"]
    fields = {f["field"]: f for f in changes[0]["fields"]}
    assert set(fields) == {"start", "failure_actions_hex"}
    records = {}
    for side, hive in (("before", a), ("after", b)):
        lines_ = _run("services", str(hive), "-q", "-f", "jsonl").splitlines()
        records[side] = next(r for r in map(json.loads, lines_) if r["name"] == "Probe")
    for side in ("before", "after"):  # the decoded forms are the records' own, raw values beside them
        assert fields["start"][f"{side}_decoded"] == records[side]["start_name"]
        assert fields["failure_actions_hex"][f"{side}_decoded"] == records[side]["failure_actions"]
        assert fields["failure_actions_hex"][side] == records[side]["failure_actions_hex"]
    table = _run("diff", str(a), str(b), "-q")
    assert "2 (auto)" in table and "4 (disabled)" in table and f"hex: {FA_AFTER.hex()}" in table
