"""Render the inventory of ``hivescan images``: volumes, installations, hives with sha256."""

from __future__ import annotations

from rich.console import Console

from hivescan.hive.images import ImageInventory
from hivescan.render.info import print_diagnostics
from hivescan.render.safe import data_grid, data_table
from hivescan.textsafe import shown_path
from hivescan.timeutil import shown_iso_time


def _size(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def print_inventory(inventory: ImageInventory, console: Console) -> None:
    grid = data_grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("image", shown_path(inventory.path))
    grid.add_row("format", inventory.format)
    grid.add_row("media size", f"{_size(inventory.media_size)} bytes")
    grid.add_row("installations", str(len(inventory.installations)))
    console.print(grid)

    volumes = data_table(title="volumes", header_style="bold")
    for col in ("volume", "status", "scheme", "offset", "size", "filesystem", "name", "shadow copy created", "note"):
        volumes.add_column(col, overflow="fold")
    for v in inventory.volumes:
        volumes.add_row(
            v.label,
            v.status,
            v.scheme or "-",
            _size(v.offset),
            _size(v.size),
            v.filesystem or "-",
            v.volume_name or "-",
            shown_iso_time(v.shadow_copy_created) or "-",
            v.note or "",
        )
    console.print(volumes)

    for inst in inventory.installations:
        files = data_table(
            title=f"installation {inst.number}: {inst.volume} {inst.windows_dir} "
            f"(snapshots: {', '.join(inst.snapshots) or '-'})",
            header_style="bold",
        )
        for col in ("snapshot", "role", "volume", "path", "size", "modified (UTC)", "sha256"):
            files.add_column(col, overflow="fold")
        for f in inst.files:
            files.add_row(
                f.snapshot,
                f.role,
                f.volume,
                shown_path(f.path),
                _size(f.size),
                shown_iso_time(f.to_dict()["modified"]) or "-",
                f.sha256 or "UNREADABLE",
            )
        console.print(files)
    print_diagnostics(inventory.diagnostics, console, "image diagnostics")
