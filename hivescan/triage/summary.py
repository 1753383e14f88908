"""The summary of a triage folder: hosts, records, findings, errors and stacks.

Computed from the datasets on disk (every run into the folder, not only the last), so it
is the same whoever wrote the parts. For an input scanned more than once (an error
retried by a rerun) the latest attempt counts.

Why Arrow and plain Python, not pandas: ``summarise`` is a serial cost at the end of every
triage run, and importing pandas alone cost more CPU than the whole summary of 60 hosts. The
hives and findings datasets are small (a row per input, a row per finding): they are read as
Python rows; the services dataset (a row per record) is stacked on integer codes
(:func:`~hivescan.triage.stacking.stack_table`). Only the columns used are read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from hivescan.triage.inputs import Ignored
from hivescan.triage.stacking import STACK_INPUT_COLUMNS, stack_dicts, stack_table
from hivescan.triage.store import TriageStore

SEVERITIES = ("critical", "high", "medium", "low", "info")
NO_ENGINE_NOTE = (
    "no detection engine is connected in this build: findings/ holds its schema and no rows; "
    "services/, hives/ and the stacks are complete"
)
NOTHING_SCANNED_NOTE = "no input was scanned (every input failed: see problems), so there are no findings"
TOP_FINDINGS = 50  # rows of `top_findings` kept in summary.json
HIVE_COLUMNS = [  # what the summary reads of the hives dataset
    "run_id", "scanned_at", "path", "member", "status", "host", "sha256", "analyser", "records",
    "error_code", "error_message", "windows_version", "windows_build", "windows_confidence",
]  # fmt: skip


Row = dict[str, Any]
FINDING_COLUMNS = ["severity", "rule_id", "title", "service", "host", "hive_sha256"]


def _host_name(host: Any, sha: Any) -> str:
    return host if isinstance(host, str) and host else f"sha256:{str(sha)[:12]}"


def top_findings(findings: list[Row], limit: int = TOP_FINDINGS, host_names_max: int = 20) -> list[dict[str, Any]]:
    """Findings across hosts, one row per (rule, service, severity): how many hosts have it and
    which (when few). Most severe first, then rarest (a finding on one host of a thousand is the
    one to read first), then rule and service for a stable order."""
    groups: dict[tuple[str, str, str], tuple[str, set[str], list[int]]] = {}  # first title, hosts, count
    for row in findings:
        key = (row["severity"] or "unknown", row["rule_id"] or "", row["service"] or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = (str(row["title"] or ""), set(), [0])
        group[1].add(_host_name(row["host"], row["hive_sha256"]))
        group[2][0] += 1
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows: list[dict[str, Any]] = [
        {
            "severity": severity,
            "rule_id": rule_id,
            "title": title,
            "service": service,
            "hosts": len(hosts),
            "findings": count[0],
            "host_names": sorted(hosts)[:host_names_max],
        }
        for (severity, rule_id, service), (title, hosts, count) in groups.items()
    ]
    rows.sort(key=lambda r: (rank.get(r["severity"], len(rank)), r["hosts"], r["rule_id"], r["service"]))
    return rows[:limit]


def windows_versions(scanned: list[Row], host_names_max: int = 20) -> list[dict[str, Any]]:
    """The detected Windows across the hives scanned: one row per (version, build, confidence),
    with how many hosts and which (when few); most hosts first. ``windows_version`` None is a
    hive whose version could not be told (its confidence says so)."""
    groups: dict[tuple[Any, Any, Any], set[str]] = {}
    for row in scanned:  # a part written before these columns reads them as null
        version, build, confidence = row["windows_version"], row["windows_build"], row["windows_confidence"]
        key = (
            version if isinstance(version, str) else None,
            int(build) if build is not None else None,
            confidence if isinstance(confidence, str) else None,
        )
        groups.setdefault(key, set()).add(_host_name(row["host"], row["sha256"]))
    rows = [
        {
            "windows_version": version,
            "windows_build": build,
            "windows_confidence": confidence,
            "hosts": len(hosts),
            "host_names": sorted(hosts)[:host_names_max],
        }
        for (version, build, confidence), hosts in groups.items()
    ]
    rows.sort(key=lambda r: (-r["hosts"], r["windows_version"] or "~", r["windows_build"] or 0))
    return rows


def _rows(table: pa.Table) -> list[Row]:
    """The rows of a small table as dicts, a timestamp as its integer (only compared here):
    pyarrow turns a zoned timestamp into a ``datetime`` through pandas, and importing pandas
    would cost more than the whole summary."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table.to_pylist()


def _nulls_last(value: Any) -> tuple[bool, Any]:
    """A sort key that puts a missing value after every other (as pandas' ``sort_values``)."""
    return (value is None, "" if value is None else value)


def latest_attempts(hives: list[Row]) -> list[Row]:
    """One row per input (path, member): its latest attempt, in (path, member) order."""
    ordered = sorted(hives, key=lambda r: (_nulls_last(r["run_id"]), _nulls_last(r["scanned_at"])))
    latest = {(row["path"], row["member"]): row for row in ordered}  # run ids sort by start time
    return sorted(latest.values(), key=lambda r: (_nulls_last(r["path"]), _nulls_last(r["member"])))


def _severity_counts(findings: list[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in findings:
        severity = row["severity"] or "unknown"
        counts[severity] = counts.get(severity, 0) + 1
    by_severity = {s: counts.get(s, 0) for s in SEVERITIES}
    others = sorted((s for s in counts if s not in SEVERITIES), key=lambda s: -counts[s])  # most first
    by_severity.update((str(s), counts[s]) for s in others)
    return by_severity


def summarise(
    outdir: str | os.PathLike[str], host_names_max: int = 20, not_scanned: Sequence[Ignored] = ()
) -> dict[str, Any]:
    """The summary of ``outdir`` as a JSON-ready mapping (what ``summary.json`` holds).

    ``not_scanned``: the files this run's discovery met in folders and did not scan (empty
    files, pipes, link cycles, lone logs...), listed in full under ``not_scanned``.
    """
    from hivescan import __version__

    store = TriageStore(outdir)
    attempts = _rows(store.table("hives", HIVE_COLUMNS))  # not the diagnostics: nested, most of the read
    hives = latest_attempts(attempts)
    scanned = [row for row in hives if row["status"] in ("ok", "partial")]
    host_names = {_host_name(row["host"], row["sha256"]) for row in scanned}
    analysers = sorted({row["analyser"] for row in scanned if row["analyser"] is not None} - {"none"})
    if analysers:
        findings = store.table("findings", FINDING_COLUMNS).to_pylist()
        finding_info: dict[str, Any] = {
            "available": True,
            "analysers": analysers,
            "total": len(findings),
            "by_severity": _severity_counts(findings),
            "top": top_findings(findings),
        }
    elif not scanned:  # nothing ran: say that, not that the build lacks an engine
        finding_info = {"available": False, "total": 0, "note": NOTHING_SCANNED_NOTE}
    else:
        finding_info = {"available": False, "total": 0, "note": NO_ENGINE_NOTE}
    statuses: dict[str, int] = {}
    for row in hives:
        if row["status"] is not None:
            statuses[str(row["status"])] = statuses.get(str(row["status"]), 0) + 1
    stacked = stack_table(store.table("services", STACK_INPUT_COLUMNS), host_names_max)
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "outdir": str(Path(outdir)),
        "hivescan_version": __version__,
        "runs": sorted({row["run_id"] for row in attempts if row["run_id"] is not None}),
        "inputs": len(hives),
        "status": dict(sorted(statuses.items())),
        "hosts": len(host_names),
        "hives_scanned": len(scanned),
        "records": sum(row["records"] or 0 for row in scanned),
        "windows": windows_versions(scanned, host_names_max),
        "findings": finding_info,
        "problems": [
            {name: row[name] for name in ("path", "member", "status", "error_code", "error_message")}
            for row in hives
            if row["status"] != "ok"
        ],
        "not_scanned": [{"path": item.path, "reason": item.reason} for item in not_scanned],
        "stacking": {name: stack_dicts(rows) for name, rows in stacked.items()},
    }


def write_summary(outdir: str | os.PathLike[str], summary: dict[str, Any]) -> Path:
    """``OUTDIR/summary.json``, written atomically."""
    path = Path(outdir) / "summary.json"
    tmp = path.with_name(".summary.json.tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=True, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
