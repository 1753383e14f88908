"""scan_one / scan_batch: one row per input, host names, the analysis seam, errors as rows."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hivescan.scm.record import ServiceRecord
from hivescan.system import SystemHive
from hivescan.testing.regf import HiveWriter
from hivescan.testing.win10 import HostSpec, system_tree
from hivescan.triage import HiveInput, ScanOptions, scan_batch, scan_one
from hivescan.triage.schema import FINDINGS_SCHEMA
from tests.conftest import shared_hive
from tests.triage.conftest import write_host


def test_scan_one_reads_host_records_and_hash(tmp_path: Path) -> None:
    hive = write_host(tmp_path / "SYSTEM", "HOST-A", services=90)
    result = scan_one(hive)
    out = result.outcome
    assert (out.status, out.host, out.records) == ("ok", "HOST-A", 90)
    assert out.sha256 == hashlib.sha256(hive.read_bytes()).hexdigest()
    assert out.size == hive.stat().st_size and out.control_sets == (1,)
    assert out.analyser == "none" and out.findings is None and result.findings == ()  # null: nothing ran
    assert len(result.records) == 90 and all(r.origin.hive_sha256 == out.sha256 for r in result.records)
    assert pickle.loads(pickle.dumps(result)) == result  # picklable in and out (R12)


def test_host_comes_from_the_control_set_select_names(tmp_path: Path) -> None:
    root = system_tree(HostSpec("OLD-NAME1", services=20, filler=False, control_sets=(1, 2)))
    root.key("ControlSet002\\Control\\ComputerName\\ComputerName").set_sz("NEW-NAME2", "NEW-NAME2")
    root.key("ControlSet002\\Control\\ComputerName\\ComputerName").set_sz("ComputerName", "NEW-NAME2")
    root.key("Select").set_dword("Current", 2).set_dword("Default", 2)
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root).build().data)
    out = scan_one(path).outcome
    assert out.host == "NEW-NAME2" and out.control_sets == (2,)


def test_missing_computer_name_is_a_diagnostic_not_a_guess(tmp_path: Path) -> None:
    root = system_tree(HostSpec("GONE", services=10, filler=False))
    cn = root.key("ControlSet001\\Control\\ComputerName\\ComputerName")
    cn.values = [v for v in cn.values if v.name != "ComputerName"]
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root).build().data)
    out = scan_one(path).outcome
    assert out.status == "ok" and out.host is None and out.records > 50
    assert "computer_name_missing" in [d.code for d in out.diagnostics]


def test_a_bad_file_in_the_batch_is_reported_and_the_rest_finish(tmp_path: Path) -> None:
    good = [write_host(tmp_path / f"h{n}" / "SYSTEM", f"HOST-{n}", seed=n) for n in range(4)]
    truncated = tmp_path / "bad" / "SYSTEM"
    truncated.parent.mkdir()
    truncated.write_bytes(good[0].read_bytes()[:4096] + b"\0" * 64)  # base block, then nothing
    garbage = tmp_path / "garbage" / "SYSTEM"
    garbage.parent.mkdir()
    garbage.write_bytes(b"regf" + bytes(range(256)) * 40)
    inputs = [HiveInput(str(p)) for p in [good[0], truncated, good[1], garbage, good[2], good[3]]]

    frames = scan_batch(inputs, batch_size=2)

    hives = frames.hives.set_index("path")
    assert list(frames.hives["path"]) == [i.path for i in inputs]  # input order, whatever the batches
    assert (hives.loc[[str(p) for p in good], "status"] == "ok").all()
    for bad in (truncated, garbage):
        assert hives.loc[str(bad), "status"] == "error"
        assert hives.loc[str(bad), "error_code"] in {"hive_unusable", "not_a_hive", "no_usable_control_set"}
        assert hives.loc[str(bad), "error_message"]
    assert sorted(frames.services["host"].unique()) == [f"HOST-{n}" for n in range(4)]
    assert len(frames.services) == hives["records"].sum() >= 4 * 60


def test_dirty_hive_with_logs_is_replayed(tmp_path: Path) -> None:
    real = shared_hive("win10-dirty-SYSTEM")
    item = HiveInput(str(real), logs=(str(real) + ".LOG1", str(real) + ".LOG2"))
    result = scan_one(item)
    out = result.outcome
    assert out.status == "ok" and out.dirty is True and out.host == "DESKTOP-PM6C56D"
    assert {"hive_dirty", "log_replayed"} <= {d.code for d in out.diagnostics}
    assert out.records == 656  # ad_driver is only in the logs
    assert any(r.name == "ad_driver" and r.origin.from_log for r in result.records)
    primary_only = scan_one(item, ScanOptions(logs=False)).outcome
    assert primary_only.records == 655 and "logs_disabled" in {d.code for d in primary_only.diagnostics}


@dataclass(frozen=True)
class PublicFolderRule:
    """A stand-in analysis step, the shape the findings feature plugs in with."""

    name: str = "test-rules"

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]:
        return [
            {
                "rule_id": "service-image-in-user-writable-folder",
                "title": "service binary under a user-writable folder",
                "severity": "high",
                "attack": ["T1543.003"],
                "service": r.name,
                "control_set": r.control_set,
                "key_path": r.key_path,
                "last_write": r.last_write,
                "finding_json": '{"rule_id": "service-image-in-user-writable-folder"}',
            }
            for r in records
            if r.image_path and "\\users\\public\\" in r.image_path.lower()
        ]


@dataclass(frozen=True)
class BrokenRule:
    name: str = "broken"

    def __call__(self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None) -> Sequence[Any]:
        raise KeyError("no such field")


def test_the_analysis_seam_fills_the_findings_dataset(tmp_path: Path) -> None:
    from tests.triage.conftest import RARE

    planted = write_host(tmp_path / "a" / "SYSTEM", "HOST-A", planted=(RARE,))
    clean = write_host(tmp_path / "b" / "SYSTEM", "HOST-B", seed=2)
    frames = scan_batch([planted, clean], options=ScanOptions(analyse=PublicFolderRule()))
    assert list(frames.findings.columns) == FINDINGS_SCHEMA.names
    (finding,) = frames.findings.to_dict("records")
    assert (finding["host"], finding["service"], finding["severity"]) == ("HOST-A", "UpdaterSvc", "high")
    assert finding["hive_sha256"] == hashlib.sha256(planted.read_bytes()).hexdigest()
    record = next(r for r in scan_one(planted).records if r.name == "UpdaterSvc")
    assert finding["last_write"] == pd.Timestamp(record.last_write)
    assert list(frames.hives["findings"]) == [1, 0] and set(frames.hives["analyser"]) == {"test-rules"}


def test_a_failing_analysis_keeps_the_records(tmp_path: Path) -> None:
    hive = write_host(tmp_path / "SYSTEM", "HOST-A")
    frames = scan_batch([hive], options=ScanOptions(analyse=BrokenRule()))
    (row,) = frames.hives.to_dict("records")
    assert (row["status"], row["error_code"], row["records"]) == ("partial", "analyse_failed", 60)
    assert "KeyError" in row["error_message"] and len(frames.services) == 60 and frames.findings.empty
