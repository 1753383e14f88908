"""A key time of 0 or an absurd one is never printed as a plain date (show, history, timeline,
services, findings): people read "not set (0)" or the date with "implausible"; JSON keeps the
ISO text and the raw FILETIME.

The hives are built with the project's writer: the real test hives hold no zero key time.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.testing.regf import HiveWriter, WKey, filetime
from hivescan.timeutil import (
    _MAX_TICKS,
    datetime_flag,
    datetime_to_filetime,
    filetime_to_datetime,
    filetime_to_iso,
    flagged_iso,
    iso_to_datetime,
    shown_filetime,
    shown_iso_time,
    time_flag,
)

GOOD = filetime("2020-05-06T07:08:09Z")
OLD = datetime_to_filetime(datetime(1985, 3, 4, 5, 6, 7, tzinfo=UTC))  # a date, but not an NT registry's


def _service(services: WKey, name: str, start: int, when: int) -> WKey:
    key = services.key(name)
    key.last_write = when
    key.set_dword("Type", 16).set_dword("Start", start).set_dword("ErrorControl", 1)
    key.set_expand_sz("ImagePath", f"C:\\{name}.exe")
    return key


def zero_time_hive(tmp_path: Path) -> Path:
    """Two control sets. ``Zeroed``: key, Parameters and TriggerInfo\\0 last written 0, its
    Start changed between the sets; ``Olden``: written in 1985; ``Fine``: a plain time.
    ControlSet002 (the older copy) has a zero key time; the base block's time is 0 too."""
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 2)
    for number, start in ((1, 2), (2, 3)):
        control_set = root.key(f"ControlSet{number:03d}")
        control_set.last_write = GOOD if number == 1 else 0
        services = control_set.key("Services")
        zeroed = _service(services, "Zeroed", start, 0)
        params = zeroed.key("Parameters")
        params.last_write = 0
        params.set_expand_sz("ServiceDll", "C:\\z.dll")
        trigger = zeroed.key("TriggerInfo\\0")
        trigger.last_write = 0
        trigger.set_dword("Type", 1).set_dword("Action", 1)
        trigger.set_binary("Guid", bytes(range(16)))
        _service(services, "Olden", 2, OLD)
        _service(services, "Fine", 2, GOOD)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root, last_written=0).build().data)
    return hive


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


# -- the helpers


def test_the_flags_of_known_times() -> None:
    assert shown_filetime(0) == "not set (0)" and flagged_iso(0) == "not set (0)"
    assert shown_filetime(None) == "" and flagged_iso(None) == ""
    assert shown_filetime(GOOD) == "2020-05-06 07:08:09" and flagged_iso(GOOD) == filetime_to_iso(GOOD)
    assert shown_filetime(OLD) == f"1985-03-04 05:06:07 (implausible; FILETIME {OLD})"
    assert shown_filetime(7) == "1601-01-01 00:00:00 (implausible; FILETIME 7)"  # not 0: a date, flagged
    assert shown_filetime(_MAX_TICKS + 1) == f"not a date (FILETIME {_MAX_TICKS + 1})"
    assert shown_filetime(-5) == "not a date (FILETIME -5)"
    assert time_flag(filetime("2099-12-31T23:59:59Z")) is None
    assert time_flag(filetime("2100-01-01T00:00:00Z")) == "implausible"
    assert time_flag(filetime("1990-01-01T00:00:00Z")) is None
    assert shown_iso_time(filetime_to_iso(0)) == "not set (0)" and shown_iso_time("not a time") == "not a time"
    assert iso_to_datetime("2024-03-02T13:12:08.1234567+02:00") == datetime(2024, 3, 2, 11, 12, 8, 123456, tzinfo=UTC)


@given(st.one_of(st.integers(-(2**64), 2**64), st.integers(0, _MAX_TICKS), st.sampled_from([0, 1, _MAX_TICKS])))
def test_a_time_is_shown_as_a_plain_date_only_when_it_is_plausible(ticks: int) -> None:
    shown, full = shown_filetime(ticks), flagged_iso(ticks)
    when = filetime_to_datetime(ticks)
    plausible = (
        when is not None and ticks != 0 and datetime(1990, 1, 1, tzinfo=UTC) <= when < datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert (time_flag(ticks) is None) == plausible
    assert (datetime_flag(when) is None) == (plausible or when is None)
    if plausible:
        assert when is not None and shown == when.strftime("%Y-%m-%d %H:%M:%S") and full == filetime_to_iso(ticks)
    else:
        # the raw FILETIME is always in the text of a flagged time, and no bare 1601 date
        assert str(ticks) in shown and str(ticks) in full
        assert "(" in shown and "(" in full
    if when is not None and ticks % 10 == 0:
        assert shown_iso_time(filetime_to_iso(ticks)) == shown


# -- every renderer


def test_show_says_not_set_for_zero_key_times(tmp_path: Path) -> None:
    hive = zero_time_hive(tmp_path)
    out = _run("show", str(hive), "Zeroed")
    assert "1601" not in out
    assert out.count("not set (0)") >= 3  # key (field list), Parameters and TriggerInfo\0 (subkeys read, title)
    assert "TriggerInfo\\0 (last write not set (0))" in out
    olden = _run("show", str(hive), "Olden")
    assert f"1985-03-04T05:06:07.000000Z (implausible; FILETIME {OLD})" in olden


def test_services_and_findings_tables_flag_an_implausible_time(tmp_path: Path) -> None:
    hive = zero_time_hive(tmp_path)
    out = _run("services", str(hive), "-q")
    assert "not set (0)" in out and "implausible" in out and "1601" not in out


def test_history_table_says_not_set_and_json_keeps_the_raw_filetime(tmp_path: Path) -> None:
    hive = zero_time_hive(tmp_path)
    table = _run("history", str(hive), "--no-regback", "-q")
    assert "Zeroed" in table and "not set (0)" in table and "1601" not in table
    doc = json.loads(_run("history", str(hive), "--no-regback", "-q", "-f", "json"))
    snaps = {s["label"].rsplit(":", 1)[-1]: s for s in doc["snapshots"]}
    assert snaps["ControlSet002"]["control_set_last_write_filetime"] == 0
    assert snaps["ControlSet002"]["control_set_last_write"] == "1601-01-01T00:00:00.000000Z"  # the ISO text stays
    assert snaps["ControlSet002"]["hive_last_written_filetime"] == 0
    event = next(e for e in doc["events"] if e["name"] == "Zeroed")
    assert event["key_last_write"] == "1601-01-01T00:00:00.000000Z" and event["key_last_write_filetime"] == 0


def _timeline(hive: Path, fmt: str) -> tuple[str, str]:
    result = CliRunner().invoke(app, ["timeline", str(hive), "-f", fmt, "--no-snapshots"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def test_timeline_puts_no_zero_time_on_the_timeline_and_says_which_keys(tmp_path: Path) -> None:
    hive = zero_time_hive(tmp_path)
    out, err = _timeline(hive, "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(not r["datetime"].startswith("1601-01-01T00:00:00") for r in rows)
    assert not [r for r in rows if r.get("service") == "Zeroed"]
    # not dropped silently: one warning per key without a time, naming the key and the raw value
    assert "timeline_no_time" in err and "Zeroed" in err and "Parameters" in err
    # an implausible time stays (it is what the key holds), flagged in the row and its message
    olden = [r for r in rows if r.get("service") == "Olden"]
    assert olden and all(r["time_flag"] == "implausible" for r in olden)
    assert all("implausible" in r["message"] for r in olden)
    fine = [r for r in rows if r.get("service") == "Fine"]
    assert fine and all(r.get("time_flag") is None for r in fine)
    csv_out, _ = _timeline(hive, "csv")
    csv_rows = list(csv.DictReader(io.StringIO(csv_out)))
    assert len(csv_rows) == len(rows) and all(not r["datetime"].startswith("1601") for r in csv_rows)


def _regback_pair(tmp_path: Path, set_time: int, copy_time: int = GOOD) -> Path:
    """config/SYSTEM and config/RegBack/SYSTEM: ``Drifted`` changed its ImagePath since the
    copy and its key now holds no time (0); the current ControlSet001 key holds ``set_time``,
    the copy's keys ``copy_time``."""
    config = tmp_path / "config"
    (config / "RegBack").mkdir(parents=True)
    for folder, image, key_time, cs_time in (
        (config, "C:\\new.exe", 0, set_time),
        (config / "RegBack", "C:\\old.exe", copy_time, copy_time),
    ):
        root = WKey("ROOT")
        root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
        control_set = root.key("ControlSet001")
        control_set.last_write = cs_time
        drifted = _service(control_set.key("Services"), "Drifted", 2, key_time)
        drifted.set_expand_sz("ImagePath", image)
        (folder / "SYSTEM").write_bytes(HiveWriter(root, last_written=cs_time).build().data)
    return config / "SYSTEM"


def test_a_snapshot_change_of_a_key_without_time_is_placed_at_the_snapshot_time(tmp_path: Path) -> None:
    later = filetime("2021-12-14T10:00:00Z")
    hive = _regback_pair(tmp_path, later)
    out, err = _timeline_snapshots(hive)
    change = [json.loads(line) for line in out.splitlines() if '"snapshot_history"' in line]
    assert len(change) == 1 and change[0]["datetime"] == "2021-12-14T10:00:00.000000Z"
    assert "timeline_no_time" in err  # the key's own last-write row is not on the timeline, said


def test_a_snapshot_change_without_any_time_is_said_not_placed_in_1601(tmp_path: Path) -> None:
    hive = _regback_pair(tmp_path, 0, 0)
    out, err = _timeline_snapshots(hive)
    assert '"snapshot_history"' not in out and "1601-01-01T00:00:00" not in out
    assert "snapshot change of Drifted (changed)" in err


def _timeline_snapshots(hive: Path) -> tuple[str, str]:
    result = CliRunner().invoke(app, ["timeline", str(hive)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def test_info_flags_an_implausible_base_block_time_and_says_not_set_for_a_control_set(tmp_path: Path) -> None:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    control_set = root.key("ControlSet001")
    control_set.last_write = OLD
    _service(control_set.key("Services"), "Fine", 2, GOOD)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root, last_written=OLD).build().data)
    out = _run("info", str(hive))
    assert f"1985-03-04T05:06:07.000000Z (implausible; FILETIME {OLD})" in out  # the base block
    assert f"1985-03-04 05:06:07 (implausible; FILETIME {OLD})" in out  # ControlSet001's key


def test_the_report_says_not_set_for_a_zero_key_time(tmp_path: Path) -> None:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    planted = _service(root.key("ControlSet001\\Services"), "Zeroed", 2, 0)
    planted.set_expand_sz("ImagePath", "C:\\Users\\Public\\svc.exe")  # a finding, so a card
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    report = tmp_path / "report.html"
    _run("scan", str(hive), "-q", "-f", "html", "-o", str(report))
    html = report.read_text(encoding="utf-8")
    assert "Zeroed" in html and "not set (0)" in html and "1601" not in html


def test_events_of_time_zero_are_flagged_in_the_table_and_kept_off_the_timeline() -> None:
    from rich.console import Console

    from hivescan.render.events import events_table
    from hivescan.render.timeline import build_timeline
    from hivescan.testing.evtx import event_log_from_spec

    log = event_log_from_spec(
        [
            {
                "event_id": 7045,
                "time": "1601-01-01T00:00:00.000000Z",
                "service_name": "Zero",
                "image_path": "C:\\z.exe",
            },
            {"event_id": 7045, "time": "1985-03-04T05:06:07.000000Z", "service_name": "Old", "image_path": "C:\\o.exe"},
            {
                "event_id": 7045,
                "time": "2021-12-13T12:55:45.250084Z",
                "service_name": "Fine",
                "image_path": "C:\\f.exe",
            },
        ]
    )
    console = Console(width=250, record=True)
    console.print(events_table([log]))
    shown = console.export_text()
    assert "1601-01-01 00:00:00.000 (not set)" in shown
    assert "1985-03-04 05:06:07.000 (implausible)" in shown
    assert "2021-12-13 12:55:45.250 " in shown and "2021-12-13 12:55:45.250 (" not in shown
    rows, gaps = build_timeline([], [log])
    assert [r["service"] for r in rows] == ["Old", "Fine"]
    assert [r["time_flag"] for r in rows] == ["implausible", None]
    assert len(gaps) == 1 and "record 1 of spec.evtx" in gaps[0].message and "1601" in gaps[0].message


def test_the_report_flags_an_implausible_hive_time_and_a_zero_pe_timestamp(tmp_path: Path) -> None:
    from hivescan.render.report.binaries import _pe_time

    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    planted = _service(root.key("ControlSet001\\Services"), "Olden", 2, OLD)
    planted.set_expand_sz("ImagePath", "C:\\Users\\Public\\svc.exe")
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root, last_written=OLD).build().data)
    report = tmp_path / "report.html"
    _run("scan", str(hive), "-q", "-f", "html", "-o", str(report))
    html = report.read_text(encoding="utf-8")
    assert html.count(f"1985-03-04T05:06:07.000000Z (implausible; FILETIME {OLD})") >= 2  # header and card
    assert "key last written (ControlSet001\\Services\\Olden) (implausible time)" in html.replace("\\\\", "\\")
    assert _pe_time(0) == "0 = 0x00000000 (not set)"
    assert _pe_time(1) == "1 = 0x00000001 (as a time: 1970-01-01T00:00:01Z, implausible)"
    assert _pe_time(1_600_000_000) == "1600000000 = 0x5f5e1000 (as a time: 2020-09-13T12:26:40Z)"


def test_history_warns_that_a_snapshot_without_time_has_no_known_place(tmp_path: Path) -> None:
    hive = zero_time_hive(tmp_path)  # ControlSet002's key and the base block hold 0
    result = CliRunner().invoke(app, ["history", str(hive), "--no-regback"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    untimed = [line for line in result.stderr.splitlines() if "history_snapshot_untimed" in line]
    assert len(untimed) == 1 and "ControlSet002" in untimed[0] and "not set (0)" in untimed[0]


def test_timeline_snapshot_messages_show_decoded_fields_not_python_reprs(tmp_path: Path) -> None:
    from hivescan.testing.encoders import encode_failure_actions

    config = tmp_path / "config"
    (config / "RegBack").mkdir(parents=True)
    for folder, start, delay, privileges in (
        (config, 3, 1000, ["SeDebugPrivilege"]),
        (config / "RegBack", 2, 60000, []),
    ):
        root = WKey("ROOT")
        root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
        svc = _service(root.key("ControlSet001\\Services"), "Agent", start, GOOD)
        svc.set_binary("FailureActions", encode_failure_actions(86400, [{"action": "restart", "delay_ms": delay}]))
        svc.set_multi_sz("RequiredPrivileges", privileges)
        (folder / "SYSTEM").write_bytes(HiveWriter(root).build().data)
    out, _ = _timeline_snapshots(config / "SYSTEM")
    (row,) = [json.loads(line) for line in out.splitlines() if '"snapshot_history"' in line]
    message = row["message"]
    assert "start: 2 (auto) -> 3 (demand)" in message
    assert (
        "actions: restart (type 1) after 60000 ms" in message and "actions: restart (type 1) after 1000 ms" in message
    )
    assert 'required_privileges: [] -> ["SeDebugPrivilege"]' in message
    assert "FailureActions(" not in message and "('" not in message


def test_diff_json_and_csv_keep_the_raw_filetime_of_each_side(tmp_path: Path) -> None:
    hive = zero_time_hive(tmp_path)
    out = _run("diff", str(hive), "--control-set", "2", "--against-control-set", "1", "-q", "-f", "jsonl")
    zeroed = next(json.loads(line) for line in out.splitlines() if json.loads(line)["name"] == "Zeroed")
    assert zeroed["before"]["last_write_filetime"] == 0 and zeroed["after"]["last_write_filetime"] == 0
    rows = list(
        csv.DictReader(
            io.StringIO(_run("diff", str(hive), "--control-set", "2", "--against-control-set", "1", "-q", "-f", "csv"))
        )
    )
    assert {r["before_last_write_filetime"] for r in rows if r["name"] == "Zeroed"} == {"0"}


def test_findings_table_and_explain_say_not_set_for_a_zero_key_time(tmp_path: Path) -> None:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    planted = _service(root.key("ControlSet001\\Services"), "Zeroed", 2, 0)
    planted.set_expand_sz("ImagePath", "C:\\Users\\Public\\svc.exe")
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    table = _run("scan", str(hive), "-q")
    assert "Zeroed" in table and "not set (0)" in table and "1601" not in table
    saved = tmp_path / "findings.jsonl"
    _run("scan", str(hive), "-q", "-f", "jsonl", "-o", str(saved))
    explained = _run("explain", str(saved))
    assert "last write not set (0)" in explained and "1601" not in explained
    assert '"last_write_filetime": 0' in saved.read_text(encoding="utf-8")  # JSON keeps the raw value


def test_history_warns_when_a_hive_without_base_block_time_is_ordered_before_another(tmp_path: Path) -> None:
    hive = _regback_pair(tmp_path, filetime("2021-12-14T10:00:00Z"))  # the hive's base block holds the set time
    bare = tmp_path / "bare" / "SYSTEM"
    bare.parent.mkdir()
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    control_set = root.key("ControlSet001")
    control_set.last_write = filetime("2022-01-01T00:00:00Z")
    _service(control_set.key("Services"), "Drifted", 2, GOOD)
    bare.write_bytes(HiveWriter(root, last_written=0).build().data)
    result = CliRunner().invoke(app, ["history", str(hive), str(bare)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    untimed = [line for line in result.stderr.splitlines() if "history_snapshot_untimed" in line]
    assert len(untimed) == 1 and str(bare) in untimed[0] and "base block holds no time" in untimed[0]


def test_a_key_time_that_is_no_date_is_shown_raw_and_kept_off_the_timeline(tmp_path: Path) -> None:
    huge = 0xFFFFFFFFFFFFFFFF  # past year 9999: no date at all
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    _service(root.key("ControlSet001\\Services"), "Far", 2, huge)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    assert f"not a date (FILETIME {huge})" in _run("show", str(hive), "Far")
    assert f"not a date (FILETIME {huge})" in _run("services", str(hive), "-q")
    out, err = _timeline(hive, "jsonl")
    assert '"Far"' not in out and f"not a date (FILETIME {huge})" in err
