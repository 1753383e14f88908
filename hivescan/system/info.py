"""What an analyst checks before trusting a hive: its base block, control sets, logs and notes.

``SystemHive.info()`` returns a :class:`HiveInfo`; the renderers (render/info.py) and
triage's host table read it, never the hive itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.logs import LogInfo
from hivescan.hive.marvin import IMPLEMENTATION as MARVIN32_IMPLEMENTATION
from hivescan.scm.winversion import WindowsVersion
from hivescan.system.replayed import replay_for_report
from hivescan.timeutil import filetime_to_iso

if TYPE_CHECKING:
    from hivescan.system.hive import SystemHive


@dataclass(frozen=True, slots=True)
class ControlSetInfo:
    number: int
    name: str
    last_write: str | None
    services: int | None  # subkeys of Services; None when the set has no readable Services key
    roles: tuple[str, ...]  # which Select values name it: current, default, lkg, failed
    last_write_filetime: int | None = None  # raw; 0 = never stamped (not None: None is no key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "last_write": self.last_write,
            "services": self.services,
            "roles": list(self.roles),
            "last_write_filetime": self.last_write_filetime,
        }


@dataclass(frozen=True, slots=True)
class HiveInfo:
    """What an analyst checks before trusting a hive."""

    path: str
    sha256: str
    size: int
    regf_version: str
    file_name: str  # as stored in the base block
    dirty: bool
    primary_sequence: int
    secondary_sequence: int
    checksum_stored: int
    checksum_computed: int
    last_written: str | None
    root_name: str
    select: dict[str, int | None]
    control_sets: tuple[ControlSetInfo, ...]
    current_control_set_link: int | None
    parser: str
    location: dict[str, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    recovered_services: dict[str, int] | None = None  # status -> records rebuilt from free/orphaned cells
    # transaction logs (hive/logs/): the logs found or given, and what their replay did
    logs: tuple[LogInfo, ...] = ()
    log_replay: dict[str, Any] | None = None
    last_written_filetime: int = 0  # raw; 0 = never set (last_written is then None: "not set")
    computer_name: str | None = None  # <set>\Control\ComputerName\ComputerName
    windows: WindowsVersion | None = None
    marvin32: str = MARVIN32_IMPLEMENTATION  # which Marvin32 checks log entries: "c" (compiled) or "python"

    @property
    def checksum_ok(self) -> bool:
        return self.checksum_stored == self.checksum_computed

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "regf_version": self.regf_version,
            "file_name": self.file_name,
            "dirty": self.dirty,
            "primary_sequence": self.primary_sequence,
            "secondary_sequence": self.secondary_sequence,
            "checksum_stored": f"0x{self.checksum_stored:08x}",
            "checksum_computed": f"0x{self.checksum_computed:08x}",
            "checksum_ok": self.checksum_ok,
            "last_written": self.last_written,
            "last_written_filetime": self.last_written_filetime,
            "computer_name": self.computer_name,
            "windows": self.windows.to_dict() if self.windows is not None else None,
            "root_name": self.root_name,
            "select": self.select,
            "control_sets": [c.to_dict() for c in self.control_sets],
            "current_control_set_link": self.current_control_set_link,
            "parser": self.parser,
            "location": self.location,
            "recovered_services": self.recovered_services,
            "logs": [log.to_dict() for log in self.logs],
            "log_replay": self.log_replay,
            "marvin32": self.marvin32,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def hive_info(hive: SystemHive, *, recover: bool = True) -> HiveInfo:
    """The evidence file's base block (dirty or clean), its logs and their replay, the tree;
    ``recover`` also counts deleted/orphaned service keys (a full scan)."""
    base = hive.primary_base or hive.reader.base
    sets = tuple(hive.control_sets())
    result = replay_for_report(hive)
    recovered = None
    if recover:
        found = hive.recovery()
        recovered = {status: found.counts.get(status, 0) for status in ("deleted", "orphaned")}
        for diag in found.diagnostics:
            hive._note_once(diag.code, diag.message, diag.level)
    return HiveInfo(
        path=hive.evidence.path,
        sha256=hive.evidence.sha256,
        size=len(hive.evidence.data),
        regf_version=base.version,
        file_name=base.file_name,
        dirty=base.dirty,
        primary_sequence=base.primary_sequence,
        secondary_sequence=base.secondary_sequence,
        checksum_stored=base.stored_checksum,
        checksum_computed=base.computed_checksum,
        last_written=filetime_to_iso(base.last_written) if base.last_written else None,
        last_written_filetime=base.last_written,
        computer_name=hive.computer_name()[0],
        windows=hive.windows_version(),
        root_name=hive.reader.root().name,
        select=hive.select.to_dict(),
        control_sets=sets,
        current_control_set_link=hive.ccs_link,
        parser=hive.reader.primary.name,
        location=dict(hive.source.location),
        diagnostics=tuple(hive.hive_diagnostics()),
        recovered_services=recovered,
        logs=tuple(result.log_infos()) if result is not None else (),
        log_replay=result.summary() if result is not None and result.primary_dirty else None,
    )


def hive_diagnostics(hive: SystemHive) -> list[Diagnostic]:
    """Everything an analyst should be warned about at the hive level."""
    diags = hive.diagnostics
    base = hive.primary_base or hive.reader.base
    if base.dirty and not any(d.code == "hive_dirty" for d in diags):
        state = f"sequence numbers {base.primary_sequence} != {base.secondary_sequence} or checksum wrong"
        if hive.log_replay is not None and hive.log_replay.replayed:
            tail = "the transaction logs were replayed in memory (see log_replayed)"
        else:
            tail = "recent changes may be only in the .LOG1/.LOG2 transaction logs"
        diags.append(Diagnostic("hive_dirty", "", f"the primary file is dirty ({state}): {tail}"))
    if base.dirty and hive._logs_option == "none":
        diags.append(
            Diagnostic(
                "logs_disabled",
                "",
                "log replay was turned off (--no-logs): the primary file is analysed alone; "
                "changes still in its transaction logs are missing",
            )
        )
    elif base.dirty and hive._log_files is not None and not hive._log_files:
        diags.append(
            Diagnostic(
                "logs_missing",
                "",
                "no .LOG/.LOG1/.LOG2 file next to the hive: recent changes may be missing; "
                "give the logs with --log FILE if they were collected elsewhere",
            )
        )
    if hive.log_replay is not None:
        diags += hive.log_replay.diagnostics
    return diags
