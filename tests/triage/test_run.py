"""run_triage into an output folder: Parquet parts, schemas, pandas and DuckDB, resume, crashes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hivescan.scm.record import ServiceRecord
from hivescan.system import SystemHive
from hivescan.triage import ScanOptions, TriageStore, discover, read_dataset, run_triage
from hivescan.triage.engines import local_executor
from hivescan.triage.run import plan_batches
from hivescan.triage.store import dataset_schema
from tests.triage.conftest import write_fleet, write_host


def test_datasets_have_one_schema_across_parts_and_read_with_pandas_and_duckdb(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=5)
    (tmp_path / "in" / "junk.bin").write_bytes(b"\x00" * 10)
    found = discover([tmp_path / "in", tmp_path / "missing-file"])
    out = tmp_path / "out"
    report = run_triage(found.inputs, out, batch_size=2)
    assert report.count("ok") == 5 and report.count("error") == 1

    store = TriageStore(out)
    for name in ("services", "findings", "hives"):
        parts = store.parts(name)
        assert len(parts) == len(plan_batches(found.inputs, batch_size=2)) > 1
        for part in parts:
            assert pq.read_schema(part).remove_metadata() == dataset_schema(name)
    services = pd.read_parquet(out / "services")
    assert list(services.columns) == dataset_schema("services").names
    assert len(services) == report.outcomes[0].records + sum(o.records for o in report.outcomes[1:])
    assert services["last_write"].dt.tz is not None and services["type"].notna().all()
    findings = pd.read_parquet(out / "findings")
    assert findings.empty and list(findings.columns) == dataset_schema("findings").names

    sql = duckdb.sql(
        f"select host, count(*) as n from read_parquet('{out}/services/*.parquet') group by host order by host"
    ).fetchall()
    assert [h for h, _ in sql] == [f"WS-{n:05d}" for n in range(1, 6)]
    assert sum(n for _, n in sql) == len(services)
    hives = duckdb.sql(f"select path, status, error_code from read_parquet('{out}/hives/*.parquet')").fetchall()
    assert ("error", "input_unreadable") in {(s, c) for _, s, c in hives}
    assert duckdb.sql(f"select count(*) from read_parquet('{out}/findings/*.parquet')").fetchall() == [(0,)]
    raw = duckdb.sql(
        f"select unnest(raw_values).name from read_parquet('{out}/services/*.parquet') where name = 'Spooler' limit 3"
    ).fetchall()
    assert raw == [("Type",), ("Start",), ("ErrorControl",)]


def test_rerun_skips_done_hives_and_retries_failed_ones(tmp_path: Path) -> None:
    hosts = write_fleet(tmp_path / "in", hosts=3)
    late = tmp_path / "in" / "late" / "SYSTEM"
    found = discover([tmp_path / "in", late])  # `late` does not exist yet: an error row
    out = tmp_path / "out"
    first = run_triage(found.inputs, out, batch_size=1)
    assert first.count("ok") == 3 and first.count("error") == 1
    rows_before = len(read_dataset(out, "services"))

    write_host(late, "LATE-HOST", seed=9)
    moved = tmp_path / "elsewhere" / "SYSTEM"  # the same bytes under another path: its own row (issue 11)
    moved.parent.mkdir()
    moved.write_bytes(hosts["WS-00001"].read_bytes())
    second = run_triage([*found.inputs, *discover([moved]).inputs], out, batch_size=1)

    assert second.count("already_done") == 3 and second.count("ok") == 2
    hives = read_dataset(out, "hives")
    assert len(hives) == 6  # 4 from the first run, 2 new (late, moved): no duplicate rows
    assert sorted(hives[hives["status"] == "ok"]["path"]) == sorted([*map(str, hosts.values()), str(late), str(moved)])
    services = read_dataset(out, "services")
    new = [o.records for o in second.outcomes if o.path in (str(late), str(moved))]
    assert len(services) == rows_before + sum(new)
    assert services.groupby(["hive_path", "key_path"]).size().max() == 1

    from hivescan.triage import summarise

    summary = summarise(out)
    assert summary["inputs"] == 5 and summary["status"] == {"ok": 5} and summary["hosts"] == 4
    assert len(summary["runs"]) == 2


def test_a_crash_between_parts_leaves_no_duplicates(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=4)
    found = discover([tmp_path / "in"])
    out = tmp_path / "out"
    run_triage(found.inputs, out, batch_size=1)  # 4 batches of 1
    store = TriageStore(out)
    lost = store.parts("hives")[-1]  # as if the run died after services/findings, before hives
    lost.unlink()
    assert len(store.parts("services")) == 4 and len(store.parts("hives")) == 3

    report = run_triage(found.inputs, out, batch_size=1)

    assert [Path(p).name for p in report.removed_orphans] == [lost.name, lost.name]
    assert report.count("ok") == 1 and report.count("already_done") == 3
    services = read_dataset(out, "services")
    assert services.groupby(["hive_sha256", "key_path"]).size().max() == 1
    assert services["host"].nunique() == 4


def test_resumed_run_gives_a_row_to_an_input_whose_content_is_already_stored(tmp_path: Path) -> None:
    """Issue 11 defect 8: after an interrupted run, a copy of a stored hive got no row at all."""
    hosts = write_fleet(tmp_path / "in", hosts=3)
    copy = tmp_path / "in" / "zz-copy" / "SYSTEM"  # sorts last: its batch is the one lost
    copy.parent.mkdir()
    copy.write_bytes(hosts["WS-00001"].read_bytes())
    found = discover([tmp_path / "in"])
    out = tmp_path / "out"
    run_triage(found.inputs, out, batch_size=1)
    store = TriageStore(out)
    lost = store.parts("hives")[-1]  # the run died before the copy's batch was committed
    assert pq.read_table(lost)["path"].to_pylist() == [str(copy)]
    lost.unlink()

    resumed = run_triage(found.inputs, out, batch_size=1)

    assert resumed.count("already_done") == 3 and resumed.count("ok") == 1
    hives = read_dataset(out, "hives")
    assert sorted(hives["path"]) == sorted(i.path for i in found.inputs)  # every input path, one row each
    services = read_dataset(out, "services")
    assert services.groupby(["hive_path", "key_path"]).size().max() == 1


@dataclass(frozen=True)
class CrashOn:
    """An analysis step that kills its worker process on one host (a native crash, say)."""

    host: str
    name: str = "crash-test"

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]:
        if host == self.host:
            os._exit(70)
        return ()


def test_a_worker_that_dies_costs_only_its_hive(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=5)
    found = discover([tmp_path / "in"])
    out = tmp_path / "out"
    with local_executor(2) as pool:
        report = run_triage(
            found.inputs, out, executor=pool, workers=2, batch_size=2, options=ScanOptions(analyse=CrashOn("WS-00003"))
        )
    hives = read_dataset(out, "hives").set_index("host", drop=False)
    assert report.count("ok") == 4 and report.count("error") == 1
    crashed = hives[hives["status"] == "error"].iloc[0]
    assert crashed["error_code"] == "worker_crashed" and "WS-00003" in crashed["path"]
    assert sorted(hives["host"].dropna()) == ["WS-00001", "WS-00002", "WS-00004", "WS-00005"]
    assert read_dataset(out, "services")["host"].nunique() == 4


def test_process_pool_gives_the_same_rows_as_in_process(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=4)
    found = discover([tmp_path / "in"])
    run_triage(found.inputs, tmp_path / "serial", batch_size=3)
    with ProcessPoolExecutor(2) as pool:
        run_triage(found.inputs, tmp_path / "pool", executor=pool, workers=2, batch_size=3)
    for name in ("services", "hives"):
        a, b = (read_dataset(tmp_path / d, name).drop(columns=VOLATILE.get(name, [])) for d in ("serial", "pool"))
        pd.testing.assert_frame_equal(a, b)  # same order too: parts sort by batch


VOLATILE = {"hives": ["run_id", "duration_s", "scanned_at", "worker"]}


def test_summary_counts_findings_by_severity_when_an_engine_ran(tmp_path: Path) -> None:
    from hivescan.triage import summarise
    from tests.triage.test_scan import PublicFolderRule

    write_fleet(tmp_path / "in", hosts=3)
    out = tmp_path / "out"
    run_triage(discover([tmp_path / "in"]).inputs, out, options=ScanOptions(analyse=PublicFolderRule()))
    summary = summarise(out)
    top = summary["findings"].pop("top")
    assert [(r["severity"], r["service"], r["hosts"], r["host_names"]) for r in top] == [
        ("high", "UpdaterSvc", 1, ["WS-00001"])
    ]
    assert summary["findings"] == {
        "available": True,
        "analysers": ["test-rules"],
        "total": 1,
        "by_severity": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
    }
    (finding,) = read_dataset(out, "findings").to_dict("records")
    assert (finding["host"], finding["service"]) == ("WS-00001", "UpdaterSvc")

    plain = tmp_path / "plain"
    run_triage(discover([tmp_path / "in"]).inputs, plain)
    assert summarise(plain)["findings"]["available"] is False
    assert read_dataset(plain, "hives")["findings"].isna().all()  # null, not 0: nothing was looked for


@dataclass(frozen=True)
class CountScans:
    """Leaves one file per scanned hive in ``folder`` (a side effect visible from the test)."""

    folder: str
    name: str = "count"

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]:
        Path(self.folder, str(host)).touch()
        return ()


def test_stopping_early_cancels_batches_not_started(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=12)
    marks = tmp_path / "marks"
    marks.mkdir()

    def stop(chunk: object) -> None:
        raise RuntimeError("disk full, say")

    with local_executor(1) as pool, pytest.raises(RuntimeError, match="disk full"):
        run_triage(
            discover([tmp_path / "in"]).inputs,
            tmp_path / "out",
            executor=pool,
            batch_size=1,
            options=ScanOptions(analyse=CountScans(str(marks))),
            on_batch=stop,
        )
    assert len(TriageStore(tmp_path / "out").parts("hives")) == 1
    assert 1 <= len(list(marks.iterdir())) <= 4  # the one stored, plus those already handed to the worker
