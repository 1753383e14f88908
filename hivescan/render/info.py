"""Render the hive summary of ``hivescan info``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from hivescan.diagnostics import Diagnostic
from hivescan.system import HiveInfo


def print_info(info: HiveInfo, console: Console) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    state = "DIRTY" if info.dirty else "clean"
    seq = f"{info.primary_sequence} / {info.secondary_sequence}"
    checksum = "ok" if info.checksum_ok else f"MISMATCH (computed 0x{info.checksum_computed:08x})"
    rows = [
        ("hive", info.path),
        ("sha256", info.sha256),
        ("size", f"{info.size:,} bytes"),
        ("regf version", info.regf_version),
        ("file name (base block)", info.file_name or "-"),
        ("state", f"{state} (sequence numbers {seq})"),
        ("checksum", f"0x{info.checksum_stored:08x} {checksum}"),
        ("last written (UTC)", info.last_written or "-"),
        ("parser", info.parser),
        ("Select", ", ".join(f"{k}={'-' if v is None else v}" for k, v in info.select.items())),
    ]
    if info.current_control_set_link is not None:
        rows.append(("CurrentControlSet link", f"ControlSet{info.current_control_set_link:03d}"))
    for key, value in info.location.items():
        rows.append((f"location: {key}", value))
    for label, value in rows:
        grid.add_row(label, value)
    console.print(grid)
    sets = Table(title="control sets", header_style="bold")
    for col in ("set", "roles", "services", "last write (UTC)"):
        sets.add_column(col)
    for cs in info.control_sets:
        sets.add_row(
            cs.name,
            ", ".join(cs.roles) or "-",
            "-" if cs.services is None else str(cs.services),
            (cs.last_write or "-")[:19].replace("T", " "),
        )
    console.print(sets)
    print_diagnostics(info.diagnostics, console, "hive diagnostics")


def print_diagnostics(diagnostics: Sequence[Diagnostic], console: Console, title: str) -> None:
    """A level/code/message table, or one line saying there are none."""
    if not diagnostics:
        console.print(f"{title}: none")
        return
    diag = Table(title=title, header_style="bold")
    for col in ("level", "code", "message"):
        diag.add_column(col, overflow="fold")
    for d in diagnostics:
        diag.add_row(d.level, d.code, d.message)
    console.print(diag)
