"""The summary of a triage folder: hosts, records, findings, errors and stacks.

Computed from the datasets on disk (every run into the folder, not only the last), so it
is the same whoever wrote the parts. For an input scanned more than once (an error
retried by a rerun) the latest attempt counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hivescan.triage.inputs import Ignored
from hivescan.triage.stacking import STACK_INPUT_COLUMNS, stack_records, stacks
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


def top_findings(findings: Any, limit: int = TOP_FINDINGS, host_names_max: int = 20) -> list[dict[str, Any]]:
    """Findings across hosts, one row per (rule, service, severity): how many hosts have it and
    which (when few). Most severe first, then rarest (a finding on one host of a thousand is the
    one to read first), then rule and service for a stable order."""
    if findings.empty:
        return []
    frame = findings.fillna({"host": "", "service": "", "title": "", "rule_id": "", "severity": "unknown"})
    frame = frame.assign(
        host=[h if h else f"sha256:{str(s)[:12]}" for h, s in zip(frame["host"], frame["hive_sha256"])]
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


def windows_versions(scanned: Any, host_names_max: int = 20) -> list[dict[str, Any]]:
    """The detected Windows across the hives scanned: one row per (version, build, confidence),
    with how many hosts and which (when few); most hosts first. ``windows_version`` None is a
    hive whose version could not be told (its confidence says so)."""
    if scanned.empty:
        return []
    groups: dict[tuple[Any, Any, Any], set[str]] = {}
    names = ("windows_version", "windows_build", "windows_confidence")
    columns = [scanned.get(c, [None] * len(scanned)) for c in names]  # parts written before these columns
    for host, sha, version, build, confidence in zip(scanned["host"], scanned["sha256"], *columns, strict=True):
        key = (
            version if isinstance(version, str) else None,
            int(build) if build is not None and build == build else None,  # NaN (no build) -> None
            confidence if isinstance(confidence, str) else None,
        )
        groups.setdefault(key, set()).add(host if isinstance(host, str) and host else f"sha256:{str(sha)[:12]}")
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


def latest_attempts(hives: Any) -> Any:
    """One row per input (path, member): its latest attempt."""
    if hives.empty:
        return hives
    ordered = hives.sort_values(["run_id", "scanned_at"], kind="stable")  # run ids sort by start time
    return ordered.drop_duplicates(["path", "member"], keep="last").sort_values(["path", "member"], kind="stable")


def summarise(
    outdir: str | os.PathLike[str], host_names_max: int = 20, not_scanned: Sequence[Ignored] = ()
) -> dict[str, Any]:
    """The summary of ``outdir`` as a JSON-ready mapping (what ``summary.json`` holds).

    ``not_scanned``: the files this run's discovery met in folders and did not scan (empty
    files, pipes, link cycles, lone logs...), listed in full under ``not_scanned``.
    """
    from hivescan import __version__

    store = TriageStore(outdir)
    attempts = store.frame("hives", HIVE_COLUMNS)  # not the diagnostics: nested, and most of the read
    hives = latest_attempts(attempts)
    services = store.frame("services", STACK_INPUT_COLUMNS)
    findings = store.frame("findings", ["severity", "rule_id", "title", "service", "host", "hive_sha256"])
    scanned = hives[hives["status"].isin(["ok", "partial"])]
    host_names = {
        h if isinstance(h, str) and h else f"sha256:{str(s)[:12]}" for h, s in zip(scanned["host"], scanned["sha256"])
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
            "top": top_findings(findings),
        }
    elif scanned.empty:  # nothing ran: say that, not that the build lacks an engine
        finding_info = {"available": False, "total": 0, "note": NOTHING_SCANNED_NOTE}
    else:
        finding_info = {"available": False, "total": 0, "note": NO_ENGINE_NOTE}
    problems = hives[hives["status"] != "ok"]
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "outdir": str(Path(outdir)),
        "hivescan_version": __version__,
        "runs": sorted(set(attempts["run_id"].dropna())),
        "inputs": len(hives),
        "status": {str(k): int(v) for k, v in hives["status"].value_counts().sort_index().items()},
        "hosts": len(host_names),
        "hives_scanned": len(scanned),
        "records": int(scanned["records"].fillna(0).sum()),
        "windows": windows_versions(scanned, host_names_max),
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
        "not_scanned": [{"path": item.path, "reason": item.reason} for item in not_scanned],
        "stacking": {name: stack_records(frame) for name, frame in stacks(services, host_names_max).items()},
    }


def write_summary(outdir: str | os.PathLike[str], summary: dict[str, Any]) -> Path:
    """``OUTDIR/summary.json``, written atomically."""
    path = Path(outdir) / "summary.json"
    tmp = path.with_name(".summary.json.tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=True, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
