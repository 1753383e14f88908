"""Render boot plans: a table per control set for people, JSON/JSONL/CSV for tools.

The table lists phases 1-4 in start order, trigger-start services apart, and a one-line
count of what is excluded and why. JSON keeps one object per control set with every entry
and every exclusion; JSONL and CSV are one row per entry (trigger-start rows included).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from hivescan.render.formats import OutputError, OutputFormat, text_output, write_csv, write_json, write_jsonl
from hivescan.render.safe import DataTable, console_for, data_table, file_console, lines, text
from hivescan.scm.bootplan import BootEntry, BootPlan

_PHASE_LABEL = {
    "boot": "boot",
    "system": "system",
    "auto": "auto",
    "delayed_auto": "delayed",
    "trigger": "trigger",
}


def _group(entry: BootEntry) -> str:
    if entry.group is None:
        return ""
    if entry.group == "":
        return '""'
    index = f"#{entry.group_order_index}" if entry.group_order_index is not None else "unlisted"
    return f"{entry.group} ({index})"


def _tag(entry: BootEntry) -> str:
    if entry.tag is None:
        return ""
    return f"{entry.tag} (#{entry.tag_order_index})" if entry.tag_order_index is not None else str(entry.tag)


def image_cell(image: str | None, service_dll: str | None) -> Text | str:
    """The image, and for a svchost-hosted service the ServiceDll under it: svchost.exe alone
    says nothing about which code runs (each line shown as data, the line break is ours)."""
    if not service_dll:
        return image or ""
    return lines([image, f"  dll: {service_dll}"] if image else [f"dll: {service_dll}"])


def _table(entries: Sequence[BootEntry], title: str) -> DataTable:
    table = data_table(title=title, header_style="bold", title_justify="left")
    for name, options in (
        ("#", {"justify": "right"}),
        ("phase", {}),
        ("name", {"overflow": "fold"}),
        ("start", {}),
        ("group (order)", {"overflow": "fold"}),
        ("tag (#)", {}),
        ("pulled in by", {"overflow": "fold"}),
        ("image", {"overflow": "fold"}),
        ("notes", {"overflow": "fold"}),
    ):
        table.add_column(name, **options)  # type: ignore[arg-type]
    for e in entries:
        table.add_row(
            str(e.order),
            _PHASE_LABEL.get(e.phase, e.phase),
            e.name,
            e.start_name or "",
            _group(e),
            _tag(e),
            ", ".join(e.pulled_in_by),
            image_cell(e.image_path_resolved, e.service_dll),
            ", ".join(e.notes),
        )
    return table


def print_boot_plans(plans: Sequence[BootPlan], console: Console, *, title: str = "") -> None:
    for plan in plans:
        label = f"ControlSet{plan.control_set:03d}" if plan.control_set is not None else "control set ?"
        started = [e for e in plan.entries if e.phase != "trigger"]
        triggers = [e for e in plan.entries if e.phase == "trigger"]
        counts = Counter(e.phase for e in started)
        summary = ", ".join(f"{counts[p]} {_PHASE_LABEL[p]}" for p in ("boot", "system", "auto", "delayed_auto"))
        console.print(_table(started, f"{title}{label}: starts at boot, in order ({summary})"))
        if triggers:
            console.print(
                _table(triggers, f"{label}: trigger-start (start only if the trigger fires; undecidable offline)")
            )
        reasons = Counter(reason.split(" (")[0] for _, reason in plan.excluded)
        if reasons:
            console.print(
                text(
                    f"{label}: not started at boot: "
                    + ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
                )
            )


def write_boot_plans(
    plans: Sequence[BootPlan],
    fmt: OutputFormat,
    output: Path | None,
    *,
    console: Console | None = None,
    title: str = "",
) -> None:
    if fmt is OutputFormat.parquet:
        raise OutputError("boot-plan writes table, json, jsonl or csv")
    if fmt is OutputFormat.table:
        if output is None:
            print_boot_plans(plans, console or console_for(), title=title)
        else:
            with text_output(output) as fh:
                print_boot_plans(plans, file_console(fh), title=title)
        return
    with text_output(output) as out:
        if fmt is OutputFormat.json:
            write_json((p.to_dict() for p in plans), out)
            return
        rows = [e.to_dict() for p in plans for e in p.entries]
        if fmt is OutputFormat.jsonl:
            write_jsonl(rows, out)
        else:
            write_csv(rows, out)


__all__ = ["print_boot_plans", "write_boot_plans"]
