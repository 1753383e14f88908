"""Render the hive summary of ``hivescan info``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from hivescan.diagnostics import Diagnostic
from hivescan.render.safe import data_grid, data_table, text
from hivescan.system import HiveInfo
from hivescan.textsafe import shown_path
from hivescan.timeutil import shown_filetime, time_flag

MARVIN32_LABELS = {"c": "compiled extension", "python": "pure-Python fallback (the C extension was not built)"}


def print_info(info: HiveInfo, console: Console) -> None:
    grid = data_grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    state = "DIRTY" if info.dirty else "clean"
    seq = f"{info.primary_sequence} / {info.secondary_sequence}"
    checksum = "ok" if info.checksum_ok else f"MISMATCH (computed 0x{info.checksum_computed:08x})"
    rows: list[tuple[str, str | Text]] = [
        ("hive", shown_path(info.path)),
        ("sha256", info.sha256),
        ("size", f"{info.size:,} bytes"),
        ("regf version", info.regf_version),
        ("file name (base block)", info.file_name or "-"),
        ("state", f"{state} (sequence numbers {seq})"),
        ("checksum", f"0x{info.checksum_stored:08x} {checksum}"),
        ("last written (UTC)", _written(info)),
        ("computer name", info.computer_name if info.computer_name is not None else "not found"),
        ("Windows", _windows(info)),
        ("parser", info.parser),
        ("Select", ", ".join(f"{k}={'-' if v is None else v}" for k, v in info.select.items())),
    ]
    if info.recovered_services is not None:
        deleted, orphaned = info.recovered_services.get("deleted", 0), info.recovered_services.get("orphaned", 0)
        hint = " (list them: hivescan services HIVE --deleted -c all)" if deleted or orphaned else ""
        rows.append(("recovered service keys", f"{deleted} deleted, {orphaned} orphaned{hint}"))
    if info.current_control_set_link is not None:
        rows.append(("CurrentControlSet link", f"ControlSet{info.current_control_set_link:03d}"))
    for key, where in info.location.items():
        rows.append((f"location: {key}", where))
    for label, value in rows:
        grid.add_row(label, value)
    console.print(grid)
    sets = data_table(title="control sets", header_style="bold")
    for col in ("set", "roles", "services", "last write (UTC)"):
        sets.add_column(col)
    for cs in info.control_sets:
        sets.add_row(
            cs.name,
            ", ".join(cs.roles) or "-",
            "-" if cs.services is None else str(cs.services),
            "no key" if cs.last_write_filetime is None else shown_filetime(cs.last_write_filetime),
        )
    console.print(sets)
    _print_logs(info, console)
    print_diagnostics(info.diagnostics, console, "hive diagnostics")


def _written(info: HiveInfo) -> str:
    """The base block's timestamp; a zero FILETIME is "not set" (Windows left it so), not 1601."""
    if info.last_written is not None:
        if time_flag(info.last_written_filetime):  # a date before 1990 or from 2100 on
            return f"{info.last_written} (implausible; FILETIME {info.last_written_filetime})"
        return info.last_written
    if info.last_written_filetime == 0:
        return "not set (0)"
    return f"not a valid time (FILETIME {info.last_written_filetime})"


def _windows(info: HiveInfo) -> str:
    """Version and build, with how sure and from what (see scm/winversion.py).

    A plain string, so the grid makes it visible: the label and edition are read from the
    hives (CSDVersion, EditionID) and may hold escape sequences or markup."""
    found = info.windows
    if found is None:
        return "-"
    extra = [f"confidence {found.confidence}"]
    if found.edition:
        extra.append(f"edition {found.edition}")
    basis = "; ".join(found.basis) or "nothing recognised"
    return f"{found.label} ({', '.join(extra)}; from {found.source}: {basis})"


def _print_logs(info: HiveInfo, console: Console) -> None:
    """The transaction logs found or given, and what the replay applied and rejected."""
    if not info.logs:
        dirty = " (the hive is dirty: recent changes may be missing)" if info.dirty else ""
        console.print(text("transaction logs: none" + dirty))
        return
    grid = data_grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for log in info.logs:
        seq = "no entries" if log.sequence_first is None else f"sequence {log.sequence_first}-{log.sequence_last}"
        remnants = f", {log.remnants} remnant entries" if log.remnants else ""
        grid.add_row("transaction log", shown_path(log.path))
        grid.add_row(
            "",
            f"{log.format} format, {log.entries} entries ({seq}){remnants}; applied {log.applied}, "
            f"rejected {log.rejected}: {log.status}",
        )
        grid.add_row("", f"sha256 {log.sha256}, {log.size:,} bytes")
        if log.remnant_sequences:
            grid.add_row("", f"remnant entries (previous states, not applied): sequence {log.remnant_sequences}")
    grid.add_row("entry hashes", f"Marvin32, {MARVIN32_LABELS.get(info.marvin32, info.marvin32)}")
    console.print(grid)
    replay = info.log_replay
    if replay is None:
        return
    if replay["replayed"]:
        console.print(
            text(
                f"log replay: {replay['entries_applied']} entries applied ({replay['format']} format, sequence "
                f"{replay['sequence_first']}-{replay['sequence_last']}), {replay['pages_written']} page runs, "
                f"{replay['bytes_written']:,} bytes; the replayed hive has sequence {replay['resulting_sequence']}"
            )
        )
    else:
        console.print(text("log replay: nothing applied (the primary file is analysed alone)"))
    if replay["rejected"]:
        rejected = data_table(title="log entries not applied", header_style="bold")
        for col in ("file", "sequence", "offset", "reason"):
            rejected.add_column(col, overflow="fold")
        for item in replay["rejected"]:
            rejected.add_row(
                item["log"], "-" if item["sequence"] is None else str(item["sequence"]), str(item["file_offset"]),
                item["reason"],
            )  # fmt: skip
        console.print(rejected)


def print_diagnostics(diagnostics: Sequence[Diagnostic], console: Console, title: str) -> None:
    """A level/code/message table, or one line saying there are none."""
    if not diagnostics:
        console.print(text(f"{title}: none"))
        return
    diag = data_table(title=title, header_style="bold")
    for col in ("level", "code", "message"):
        diag.add_column(col, overflow="fold")
    for d in diagnostics:
        diag.add_row(d.level, d.code, d.message)
    console.print(diag)
