"""The Dask path runs the same work: a LocalCluster (worker processes) gives the same Parquet content."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hivescan.triage import discover, read_dataset, run_triage
from hivescan.triage.engines import EngineError, dask_executor, local_executor
from tests.conftest import run_probe
from tests.triage.conftest import write_fleet

distributed = pytest.importorskip("distributed", reason="the scale extra (dask[distributed]) is not installed")

VOLATILE = ["run_id", "duration_s", "scanned_at", "worker"]


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def test_dask_local_cluster_gives_the_same_rows_as_the_process_pool(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=5)
    (tmp_path / "in" / "broken").mkdir()
    (tmp_path / "in" / "broken" / "SYSTEM").write_bytes(b"regf" + b"\xff" * 5000)
    found = discover([tmp_path / "in"])

    with local_executor(2) as pool:
        local = run_triage(found.inputs, tmp_path / "local", executor=pool, workers=2, batch_size=2)
    with dask_executor("local", 2) as (executor, workers):
        assert workers == 2
        remote = run_triage(found.inputs, tmp_path / "dask", executor=executor, workers=workers, batch_size=2)

    assert [(o.path, o.status) for o in local.outcomes] == [(o.path, o.status) for o in remote.outcomes]
    assert remote.count("ok") == 5 and remote.count("error") == 1
    keys = {"services": ["hive_sha256", "control_set", "key_path"], "hives": ["path"], "findings": ["hive_sha256"]}
    for name, by in keys.items():
        a = _sorted(read_dataset(tmp_path / "local", name), by)
        b = _sorted(read_dataset(tmp_path / "dask", name), by)
        if name == "hives":
            assert set(b["worker"]) != set(a["worker"])  # really ran elsewhere
            a, b = a.drop(columns=VOLATILE), b.drop(columns=VOLATILE)
        pd.testing.assert_frame_equal(a, b)
    assert len(read_dataset(tmp_path / "dask", "services")) > 5 * 80


def test_unreachable_scheduler_is_a_clear_error() -> None:
    with (
        pytest.raises(EngineError, match="cannot reach the Dask scheduler"),
        dask_executor("tcp://127.0.0.1:9", timeout_s=1),
    ):
        pass


def test_cli_runs_on_a_local_dask_cluster(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hivescan.cli import app

    write_fleet(tmp_path / "in", hosts=3)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "--dask", "local", "-j", "2"])
    assert result.exit_code == 0, result.output
    hives = read_dataset(out, "hives")
    assert list(hives["status"]) == ["ok"] * 3 and hives["worker"].nunique() >= 1
    assert "3 hosts" in result.stdout


def _background_settings() -> tuple[object, ...]:
    import dask.config

    keys = ("distributed.worker.profile.enabled", "distributed.admin.tick.interval")
    return tuple(dask.config.get(key) for key in keys)


def test_local_cluster_workers_run_without_the_profiler_and_fast_ticks() -> None:
    """Goal 6 of issue 13: the profiler (each 10 ms), the GIL monitor (1 ms) and the 20 ms tick
    cost an idle 2-worker cluster ~85 ms of CPU per second; our own LocalCluster turns them down,
    and leaves the client's configuration as it was."""
    before = _background_settings()
    with dask_executor("local", 2) as (executor, _):
        client = executor._client  # type: ignore[attr-defined]
        assert set(client.run(_background_settings).values()) == {(False, "500ms")}
    assert _background_settings() == before


DASK_PROBE = """
from hivescan.triage.engines import dask_executor


def probe():
    import sys

    from hivescan.triage import seams

    return ("hivescan.triage.preload" in sys.modules, seams.worker_engine.cache_info().currsize == 1)


if __name__ == "__main__":
    with dask_executor("local", 2) as (executor, _):
        print(sorted(executor._client.run(probe).values()))
"""


def test_local_cluster_workers_start_preloaded(tmp_path: Path) -> None:
    """Goal 6 of issue 13: spawned, each worker of a ``--dask local`` cluster imported distributed
    and then all of hivescan itself (~1.3 s of CPU each, ~35 ms per hive of a 60-host run);
    forked from a preloaded forkserver, each starts as a pool worker does, with the rules
    engine built. In a fresh process, so no forkserver of an earlier test is reused."""
    done = run_probe(tmp_path, DASK_PROBE, timeout=180)
    assert done.stdout.strip() == "[(True, True), (True, True)]"
