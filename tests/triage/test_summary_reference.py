"""``summarise`` (Arrow and plain Python) gives the summary.json the pandas implementation gave.

The reference below is the former ``summarise`` (pandas: ``sort_values``, ``drop_duplicates``,
``groupby``, ``value_counts``), with the stacks of the groupby oracle of
``test_stacking_fast``; it is kept here only to compare. The folder is built to reach every
branch: two runs (an input retried), a hive that is not SYSTEM (a problem row), ties between
raw forms of one stacking key, a finding rule on some hosts, per-user instances.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.testing.regf import HiveWriter, WKey
from hivescan.testing.win10 import PlantedService
from hivescan.triage import ScanOptions, discover, run_triage, seams, summarise
from hivescan.triage.store import TriageStore
from hivescan.triage.summary import HIVE_COLUMNS, NO_ENGINE_NOTE, NOTHING_SCANNED_NOTE, SEVERITIES, TOP_FINDINGS
from tests.triage.conftest import write_host
from tests.triage.test_stacking_fast import _oracle


def _ref_top_findings(findings: pd.DataFrame, limit: int = TOP_FINDINGS, host_names_max: int = 20) -> list[Any]:
    if findings.empty:
        return []
    frame = findings.fillna({"host": "", "service": "", "title": "", "rule_id": "", "severity": "unknown"})
    frame = frame.assign(
        host=[h if h else f"sha256:{str(s)[:12]}" for h, s in zip(frame["host"], frame["hive_sha256"], strict=True)]
    )
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = []
    for (severity, rule_id, service), group in frame.groupby(["severity", "rule_id", "service"], sort=False):
        hosts = sorted(set(group["host"]))
        rows.append(
            {
                "severity": severity,
                "rule_id": rule_id,
                "title": str(group["title"].iloc[0]),
                "service": service,
                "hosts": len(hosts),
                "findings": len(group),
                "host_names": hosts[:host_names_max],
            }
        )
    rows.sort(key=lambda r: (rank.get(r["severity"], len(rank)), r["hosts"], r["rule_id"], r["service"]))
    return rows[:limit]


def _ref_windows(scanned: pd.DataFrame, host_names_max: int = 20) -> list[Any]:
    if scanned.empty:
        return []
    groups: dict[tuple[Any, Any, Any], set[str]] = {}
    names = ("windows_version", "windows_build", "windows_confidence")
    columns = [scanned[c] for c in names]
    for host, sha, version, build, confidence in zip(scanned["host"], scanned["sha256"], *columns, strict=True):
        key = (
            version if isinstance(version, str) else None,
            int(build) if build is not None and build == build else None,
            confidence if isinstance(confidence, str) else None,
        )
        groups.setdefault(key, set()).add(host if isinstance(host, str) and host else f"sha256:{str(sha)[:12]}")
    rows = [
        {
            "windows_version": v,
            "windows_build": b,
            "windows_confidence": c,
            "hosts": len(h),
            "host_names": sorted(h)[:host_names_max],
        }
        for (v, b, c), h in groups.items()
    ]
    rows.sort(key=lambda r: (-r["hosts"], r["windows_version"] or "~", r["windows_build"] or 0))
    return rows


def _ref_stack_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "value": row.value,
            "example": row.example,
            "forms": int(row.forms),
            "hosts": int(row.hosts),
            "hives": int(row.hives),
            "records": int(row.records),
            "host_names": list(row.host_names),
            "services": list(row.services),
        }
        for row in frame.itertuples(index=False)
    ]


def _reference(outdir: Path) -> dict[str, Any]:
    """The former summarise, less ``generated_at``."""
    from hivescan import __version__

    store = TriageStore(outdir)
    attempts = store.table("hives", HIVE_COLUMNS).to_pandas()
    ordered = attempts.sort_values(["run_id", "scanned_at"], kind="stable")
    hives = ordered.drop_duplicates(["path", "member"], keep="last").sort_values(["path", "member"], kind="stable")
    services = store.table("services", ["host", "hive_sha256", "name", "type", "image_path", "service_dll"]).to_pandas()
    findings = store.table("findings", ["severity", "rule_id", "title", "service", "host", "hive_sha256"]).to_pandas()
    scanned = hives[hives["status"].isin(["ok", "partial"])]
    host_names = {
        h if isinstance(h, str) and h else f"sha256:{str(s)[:12]}"
        for h, s in zip(scanned["host"], scanned["sha256"], strict=True)
    }
    analysers = sorted({a for a in scanned["analyser"].dropna() if a != "none"})
    if analysers:
        counts = findings["severity"].fillna("unknown").value_counts()
        by_severity = {s: int(counts.get(s, 0)) for s in SEVERITIES}
        by_severity.update({str(s): int(n) for s, n in counts.items() if s not in SEVERITIES})
        finding_info: dict[str, Any] = {
            "available": True,
            "analysers": analysers,
            "total": len(findings),
            "by_severity": by_severity,
            "top": _ref_top_findings(findings),
        }
    elif scanned.empty:
        finding_info = {"available": False, "total": 0, "note": NOTHING_SCANNED_NOTE}
    else:
        finding_info = {"available": False, "total": 0, "note": NO_ENGINE_NOTE}
    problems = hives[hives["status"] != "ok"]
    return {
        "outdir": str(Path(outdir)),
        "hivescan_version": __version__,
        "runs": sorted(set(attempts["run_id"].dropna())),
        "inputs": len(hives),
        "status": {str(k): int(v) for k, v in hives["status"].value_counts().sort_index().items()},
        "hosts": len(host_names),
        "hives_scanned": len(scanned),
        "records": int(scanned["records"].fillna(0).sum()),
        "windows": _ref_windows(scanned),
        "findings": finding_info,
        "problems": [
            {
                "path": row.path,
                "member": row.member,
                "status": row.status,
                "error_code": row.error_code,
                "error_message": row.error_message,
            }
            for row in problems.itertuples(index=False)
        ],
        "not_scanned": [],
        "stacking": {name: _ref_stack_records(frame) for name, frame in _oracle(services).items()},
    }


def _as_json(summary: dict[str, Any]) -> str:
    summary = {k: v for k, v in summary.items() if k != "generated_at"}
    return json.dumps(summary, ensure_ascii=True, indent=1, default=str)


def _triage(inputs: list[Path], outdir: Path) -> None:
    found = discover(inputs)
    run_triage(found.inputs, outdir, options=ScanOptions(analyse=seams.analyser()))


def test_summary_json_equals_the_pandas_reference(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    tie_a = PlantedService("TieSvc", r"C:\Windows\tie.exe")  # two raw forms of one key, on as many hosts
    tie_b = PlantedService("tiesvc", r"%SystemRoot%\tie.exe")
    rare = PlantedService("UpdaterSvc", r"C:\Users\Public\upd.exe")
    for n in range(1, 5):
        planted = (tie_a if n % 2 else tie_b, *((rare,) if n == 1 else ()))
        write_host(hosts / f"WS-{n}" / "SYSTEM", f"WS-{n}", seed=n, planted=planted, services=40)
    not_system = tmp_path / "other" / "NTUSER.DAT"
    not_system.parent.mkdir()
    not_system.write_bytes(HiveWriter(WKey("ROOT")).build().data)
    outdir = tmp_path / "out"
    _triage([hosts / "WS-1", hosts / "WS-2", not_system], outdir)
    _triage([hosts, not_system], outdir)  # a second run: the others, and the problem retried
    got = summarise(outdir)
    expected = _reference(outdir)
    assert len(got["runs"]) == 2 and got["problems"] and got["findings"]["available"]
    assert any(row["forms"] == 2 and row["hosts"] == 4 for row in got["stacking"]["image_paths"])
    assert _as_json(got) == _as_json(expected)


def test_summary_of_an_empty_folder_equals_the_reference(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    TriageStore(outdir).create()
    assert _as_json(summarise(outdir)) == _as_json(_reference(outdir))


def test_summarise_imports_no_pandas(tmp_path: Path) -> None:
    """A triage parent reads and summarises without pandas (its import costs more than the
    summary): the folder of the reference test, summarised in a fresh process."""
    import subprocess
    import sys

    hosts = tmp_path / "hosts"
    for n in (1, 2):
        write_host(hosts / f"WS-{n}" / "SYSTEM", "" if n == 2 else f"WS-{n}", seed=n, services=30)
    _triage([hosts], tmp_path / "out")
    probe = (
        "import sys\nfrom hivescan.triage import summarise\n"
        f"summary = summarise({str(tmp_path / 'out')!r})\n"
        "print(summary['hosts'], 'pandas.core.frame' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["2", "False"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "B", "", "é", "a\x00"])), max_size=60), st.integers(0, 5))
def test_codes_equal_pandas_factorize(values: list[str | None], offset: int) -> None:
    """Dictionary codes read from the Arrow buffers (sliced arrays too: an offset) equal
    ``pandas.factorize``: first appearance order, -1 for a missing value."""
    import pyarrow as pa

    from hivescan.triage.stacking import codes_of

    column = pa.array(["pad"] * offset + values, pa.string()).slice(offset)
    codes, uniques = codes_of(pa.chunked_array([column[: len(values) // 2], column[len(values) // 2 :]], pa.string()))
    expected_codes, expected_uniques = pd.factorize(pd.Series(values, dtype="string"), use_na_sentinel=True)
    assert codes.tolist() == expected_codes.tolist() and uniques == list(expected_uniques)
