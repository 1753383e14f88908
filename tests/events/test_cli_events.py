"""``hivescan events`` and ``--evtx``: formats, exit codes, and evidence strings that cannot
drive the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.render.events import write_events
from hivescan.render.formats import OutputFormat
from hivescan.testing import evtx as T
from hivescan.testing.evtx import event_log_from_spec
from tests.events.conftest import SHARED_EVTX, private_copy, shared_evtx, spec_hive

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_events_jsonl_of_a_folder_lists_every_install() -> None:
    shared_evtx("mitre-tchopper-7045-x244.evtx")
    code, out, _ = run("events", str(SHARED_EVTX), "-f", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    installs = [r for r in rows if r["event_id"] in (7045, 4697)]
    assert len(installs) == 244 + 1 + 1 + 1 + 2 + 2 + 1 + 1  # every 7045/4697 of SOURCES.md
    assert list(rows[0])[:15] == [
        "event_id",
        "time",
        "channel",
        "provider",
        "record_id",
        "computer",
        "service_name",
        "image_path",
        "service_type",
        "start_type",
        "account",
        "subject_user",
        "process",
        "evtx_path",
        "evtx_sha256",
    ]
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)


def test_events_parquet_and_csv(tmp_path: Path) -> None:
    log = shared_evtx("mitre-smbexec-7045-4697.evtx")
    code, _, _ = run("events", str(log), "-f", "parquet", "-o", str(tmp_path / "e.parquet"))
    assert code == 0
    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert list(frame["event_id"]) == [7045, 4697] and json.loads(frame["data"][0])["ServiceName"] == "BTOBTO"
    code, out, _ = run("events", str(log), "-f", "csv")
    assert code == 0 and out.splitlines()[0].startswith("event_id,time,channel")


def test_events_damaged_log_warns_and_exits_0(tmp_path: Path) -> None:
    data = T.zero_chunk(shared_evtx("mitre-tchopper-7045-x244.evtx").read_bytes(), 1)
    path = private_copy("mitre-tchopper-7045-x244.evtx", tmp_path, data)
    code, out, err = run("events", str(path), "-f", "jsonl")
    assert code == 0 and "evtx_chunk_unreadable" in err and "Traceback" not in err
    assert len(out.splitlines()) > 500


def test_events_bad_input_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "x.evtx").write_bytes(b"not a log at all" * 100)
    code, _, err = run("events", str(tmp_path / "x.evtx"))
    assert code == 4 and err.count("\n") == 1 and "not an EVTX event log" in err
    code, _, err = run("events", str(tmp_path / "missing.evtx"))
    assert code == 3 and "no such file" in err
    code, _, _ = run("events", str(tmp_path / "x.evtx"), "-f", "xml")
    assert code == 2


def test_services_evtx_adds_service_events_and_event_only_records(tmp_path: Path) -> None:
    hive = spec_hive(
        tmp_path,
        {
            "PSEXESVC": {
                "values": {
                    "Type": 0x10,
                    "Start": 3,
                    "ErrorControl": 0,
                    "ImagePath": {"expand_sz": "%SystemRoot%\\PSEXESVC.exe"},
                }
            }
        },
        computer="ROOTDC1",
    )
    code, out, err = run(
        "services",
        str(hive),
        "-f",
        "jsonl",
        "--evtx",
        str(shared_evtx("mitre-psexec-7045-7036.evtx")),
        "--evtx",
        str(shared_evtx("mitre-smbexec-7045-4697.evtx")),
    )
    assert code == 0, err
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert rows["PSEXESVC"]["service_events"][0]["event_id"] == 7045
    assert rows["BTOBTO"]["status"] == "event_only" and rows["BTOBTO"]["hive_path"].endswith("smbexec-7045-4697.evtx")
    assert "events_computer_mismatch" in err  # jump01 events against a ROOTDC1 hive: joined, warned


def test_table_renders_hostile_event_strings_as_text(tmp_path: Path) -> None:
    hostile = "[bold red]Evil[/]\x1b[31m\nsvc\x07"
    log = event_log_from_spec(
        [
            {
                "event_id": 7045,
                "time": "2024-01-01T00:00:00Z",
                "display_name": hostile,
                "service_name": hostile,
                "image_path": "=cmd|' /C calc'!A0 [link=http://x]",
                "computer": "[blink]H[/blink]",
            }
        ]
    )
    out = tmp_path / "t.txt"
    write_events([log], OutputFormat.table, out)
    text = out.read_text(encoding="utf-8")
    assert "[bold red]Evil[/]" in text and "\\x1b" in text and "\\x07" in text and "\x1b" not in text
    assert "[link=http://x]" in text and "[blink]H[/blink]" in text


def test_history_evtx_dates_an_appearance_by_its_install_event(tmp_path: Path) -> None:
    psexesvc = {
        "values": {
            "Type": 0x10,
            "Start": 3,
            "ErrorControl": 0,
            "ImagePath": {"expand_sz": "%SystemRoot%\\PSEXESVC.exe"},
        }
    }
    spooler = {"values": {"Type": 0x110, "Start": 2, "ErrorControl": 1, "ImagePath": "C:\\Windows\\spoolsv.exe"}}
    older = spec_hive(tmp_path, {"Spooler": spooler}, name="SYSTEM.old", last_written="2021-04-01T00:00:00Z")
    newer = spec_hive(tmp_path, {"Spooler": spooler, "PSEXESVC": psexesvc}, last_written="2021-05-01T00:00:00Z")
    code, out, err = run(
        "history", str(newer), str(older), "-f", "jsonl", "--evtx", str(shared_evtx("mitre-psexec-7045-7036.evtx"))
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    appeared = next(r for r in rows if r["name"] == "PSEXESVC")
    assert appeared["event"] == "appeared"
    assert [e["event_id"] for e in appeared["service_events"]] == [7045, 7036, 7036]
    assert appeared["service_events"][0]["time"] == "2021-04-21T09:27:56.082509Z"


def test_triage_evtx_writes_events_and_stacks_installs_across_hosts(tmp_path: Path) -> None:
    from hivescan.events.stacking import stack_installs
    from hivescan.testing.evtx import event_log_from_spec

    shared_evtx("mitre-psexec-7045-7036.evtx")
    demo = Path(__file__).resolve().parents[2] / "fixtures" / "demo-SYSTEM"
    out = tmp_path / "out"
    code, stdout, err = run(
        "triage", str(demo), "-o", str(out), "--evtx", str(SHARED_EVTX), "-f", "json", "-q", "-j", "1"
    )
    assert code == 0, err
    frame = pd.read_parquet(out / "events" / "events.parquet")
    assert (frame["event_id"].isin([7045, 4697])).sum() == 253
    stack = {row["service_name"]: row for row in json.loads(stdout)["event_installs"]}
    assert stack["seg1"]["host_names"] == ["FS03"]  # the key name, learnt from the 7000/7009 events
    assert stack["BTOBTO"]["installs"] == 2 and stack["TVRSmXcD"]["host_names"] == ["IE10WIN7"]
    # two hosts installing one name: counted once per host, rarest first
    fleet = [
        event_log_from_spec(
            [
                {
                    "event_id": 7045,
                    "time": "2024-01-01T00:00:00Z",
                    "display_name": "Agent",
                    "computer": f"PC{n}.corp.example",
                }
            ]
        )
        for n in range(3)
    ] + [
        event_log_from_spec(
            [{"event_id": 7045, "time": "2024-01-01T00:00:00Z", "display_name": "KqTr", "computer": "PC1"}]
        )
    ]
    rows = stack_installs(fleet)
    assert [(r["service_name"], r["hosts"]) for r in rows] == [("KqTr", 1), ("Agent", 3)]
