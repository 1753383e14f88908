"""Render a triage summary (the mapping of :func:`hivescan.triage.summary.summarise`) for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from hivescan.render.safe import data_table, text
from hivescan.textsafe import shown_path, visible

_STACK_TITLES = {
    "services": "Services by hosts (rarest first)",
    "image_paths": "ImagePaths by hosts (rarest first)",
    "service_dlls": "ServiceDlls by hosts (rarest first)",
}


def _names(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(visible(i) for i in items[:limit])
    return shown + (f", ... {len(items) - limit} more" if len(items) > limit else "")


def _print_top_findings(rows: list[dict[str, Any]], console: Console, top: int) -> None:
    """The findings to read first across hosts: most severe, then rarest."""
    if not rows:
        return
    table = data_table(
        title=f"Top findings across hosts (most severe, then rarest; {len(rows)} shown in summary.json)",
        title_justify="left",
    )
    for col in ("severity", "rule", "service", "hosts", "hosts (when few)"):
        table.add_column(col, overflow="fold", justify="right" if col == "hosts" else "left")
    for row in rows[:top]:
        table.add_row(
            _evidence(row["severity"]),
            _evidence(row["rule_id"]),
            _evidence(row["service"]),
            str(row["hosts"]),
            _evidence(_names(row["host_names"])),
        )
    console.print(table)


def _print_windows(rows: list[dict[str, Any]], console: Console, top: int) -> None:
    """Which Windows the hosts run, as detected from each hive, and how sure the detection is."""
    if not rows:
        return
    table = data_table(title=f"Windows versions detected ({len(rows)} distinct)", title_justify="left")
    table.add_column("hosts", justify="right")
    for col in ("Windows (detected)", "build", "confidence", "hosts (when few)"):
        table.add_column(col, overflow="fold")
    for row in rows[:top]:
        build = row.get("windows_build")
        table.add_row(
            str(row["hosts"]),
            _evidence(row.get("windows_version") or "unknown"),
            str(build) if build is not None else "",
            _evidence(row.get("windows_confidence") or "not recorded"),
            _evidence(_names(row["host_names"])),
        )
    console.print(table)
    if len(rows) > top:
        console.print(text(f"... {len(rows) - top} more in summary.json and hives/"))


def _evidence(value: Any) -> Text:
    """A string from the evidence as a rich Text: never read as markup, controls made visible."""
    return text(value)


def print_summary(summary: Mapping[str, Any], console: Console, top: int = 15) -> None:
    status = ", ".join(f"{k} {v}" for k, v in summary["status"].items()) or "none"
    head = Text()
    head.append(f"{summary['inputs']} inputs", style="bold")
    head.append(f" ({visible(status)}) · ")
    head.append(f"{summary['hosts']} hosts", style="bold")
    head.append(f" · {summary['records']} service records · output {shown_path(summary['outdir'])}")
    head.append(f" · hivescan {summary.get('hivescan_version') or 'version not recorded'}")
    console.print(head)
    _print_windows(summary.get("windows") or [], console, top)
    findings = summary["findings"]
    if findings["available"]:
        counts = ", ".join(f"{k} {v}" for k, v in findings["by_severity"].items() if v)
        console.print(text(f"findings: {findings['total']} ({counts or 'none'})"))
        _print_top_findings(findings.get("top") or [], console, top)
    else:
        console.print(text(f"findings: not available -- {findings['note']}"))
    problems = summary["problems"]
    if problems:
        table = data_table(title=f"Inputs not scanned cleanly ({len(problems)})", title_justify="left")
        for col in ("status", "code", "input", "message"):
            table.add_column(col, overflow="fold")
        for row in problems[:top]:
            where = shown_path(row["path"]) + (f"!{row['member']}" if row["member"] else "")
            table.add_row(row["status"], row["error_code"] or "", where, row["error_message"] or "")
        console.print(table)
        if len(problems) > top:
            console.print(text(f"... {len(problems) - top} more in summary.json and hives/"))
    for name, rows in summary["stacking"].items():
        if not rows:
            continue
        table = data_table(title=f"{_STACK_TITLES.get(name, name)}: {len(rows)} distinct", title_justify="left")
        table.add_column("hosts", justify="right")
        table.add_column("value (most common form)", overflow="fold")
        table.add_column("forms", justify="right")
        table.add_column("services" if name != "services" else "names", overflow="fold")
        table.add_column("hosts (when few)", overflow="fold")
        for row in rows[:top]:
            table.add_row(
                str(row["hosts"]),
                row["example"],
                str(row["forms"]),
                _names(row["services"]),
                _names(row["host_names"]),
            )
        console.print(table)
