"""What happened to one input: its row of the ``hives`` dataset (:class:`HiveOutcome`), the
result of a scan (:class:`TriageResult`) and the coded diagnostic of an input that could not be
scanned (error codes documented in docs/diagnostics.md, "Triage").
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from hivescan.diagnostics import Diagnostic
from hivescan.errors import (
    ControlSetError,
    HiveDamaged,
    HiveNotFound,
    ImageError,
    NotAHive,
    WrongHiveType,
)
from hivescan.scm.record import ServiceRecord
from hivescan.triage.inputs import HiveInput
from hivescan.triage.options import ScanOptions

Status = Literal["ok", "partial", "skipped", "error", "already_done"]
DONE_STATUSES = frozenset({"ok", "partial", "skipped"})  # a rerun does not scan these again


@dataclass(frozen=True, slots=True)
class HiveOutcome:
    """One row of the ``hives`` dataset: what happened to one input."""

    path: str
    member: str = ""
    status: Status = "ok"
    host: str | None = None
    sha256: str | None = None
    size: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    records: int = 0
    findings: int | None = None
    analyser: str | None = None
    control_sets: tuple[int, ...] = ()
    dirty: bool | None = None
    hive_last_written: str | None = None
    logs: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    duration_s: float = 0.0
    scanned_at: str = ""
    worker: str = ""
    run_id: str = ""
    windows_version: str | None = None  # the detected Windows, readable (WindowsVersion.label); None: unknown
    windows_build: int | None = None
    windows_confidence: str | None = None  # high | medium | low | none; None when the hive was not read

    def to_row(self) -> dict[str, Any]:
        from hivescan import __version__

        return {
            "run_id": self.run_id,
            "path": self.path,
            "member": self.member,
            "host": self.host,
            "sha256": self.sha256,
            "size": self.size,
            "status": self.status,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "records": self.records,
            "findings": self.findings,
            "analyser": self.analyser,
            "control_sets": list(self.control_sets),
            "dirty": self.dirty,
            "hive_last_written": self.hive_last_written,
            "logs": list(self.logs),
            "diagnostic_codes": [d.code for d in self.diagnostics],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "duration_s": round(self.duration_s, 6),
            "scanned_at": self.scanned_at,
            "worker": self.worker,
            "hivescan_version": __version__,
            "windows_version": self.windows_version,
            "windows_build": self.windows_build,
            "windows_confidence": self.windows_confidence,
        }


@dataclass(frozen=True, slots=True)
class TriageResult:
    """What :func:`scan_one` returns: the outcome, the records and the finding rows."""

    outcome: HiveOutcome
    records: tuple[ServiceRecord, ...] = ()
    findings: tuple[Mapping[str, Any], ...] = ()


def failure_status(exc: BaseException) -> tuple[Status, Diagnostic]:
    """The status and coded diagnostic of an input that could not be scanned."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, HiveNotFound):
        return "error", Diagnostic("input_unreadable", "", text, "error")
    if isinstance(exc, NotAHive):
        return "error", Diagnostic("not_a_hive", "", text, "error")
    if isinstance(exc, WrongHiveType):
        return "skipped", Diagnostic("not_system_hive", "", text, "info")
    if isinstance(exc, HiveDamaged):
        return "error", Diagnostic("hive_unusable", "", text, "error")
    if isinstance(exc, ControlSetError):
        return "error", Diagnostic("no_usable_control_set", "", text, "error")
    if isinstance(exc, ImageError):
        return "error", Diagnostic("image_unreadable", "", text, "error")
    return "error", Diagnostic("internal_error", "", f"{type(exc).__name__}: {text} (a bug in hivescan)", "error")


def new_outcome(item: HiveInput, options: ScanOptions) -> HiveOutcome:
    """The outcome of an input before anything is known: where, when, which worker."""
    return HiveOutcome(
        path=item.path,
        member=item.member,
        logs=item.logs,
        scanned_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        run_id=options.run_id,
    )


__all__ = ["DONE_STATUSES", "HiveOutcome", "Status", "TriageResult", "failure_status", "new_outcome"]
