"""Scan one hive, or one batch of hives, for triage: the work a worker process does.

:func:`scan_one` reads a hive, names its host, rebuilds the service database and runs the
*analysis step*; it never raises for a bad input: the outcome says what happened
(``status`` ok / partial / skipped / error, an ``error_code`` documented in
docs/diagnostics.md, "Triage"). Its argument and result are picklable, so the same
function runs in-process, in a process pool and on Dask workers.

The analysis step is the seam where findings plug in: an :class:`Analyser` turns a hive's
records into finding rows (the columns of :data:`~hivescan.triage.schema.FINDINGS_SCHEMA`).
This build ships only :class:`NoAnalysis`, which produces no findings and says so
(``analyser = "none"`` in the hives dataset): the detection engine is connected after the
findings feature is merged.

:func:`scan_chunk` runs :func:`scan_one` over a batch and returns the three datasets' rows
as Parquet bytes, built in the worker, so the driver only stores files and a remote
cluster needs no shared filesystem.

References: style.md R12; scm-spec.md §1 (control sets), §8 (per-user services).
"""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from hivescan.diagnostics import Diagnostic
from hivescan.errors import (
    ControlSetError,
    HiveDamaged,
    HiveNotFound,
    HivescanError,
    ImageError,
    NotAHive,
    WrongHiveType,
)
from hivescan.hive.source import HiveSource
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import filetime_to_iso
from hivescan.triage.inputs import ContainerReader, HiveInput

if TYPE_CHECKING:
    from hivescan.scm.services import RecordMemo
    from hivescan.system import SystemHive

Status = Literal["ok", "partial", "skipped", "error", "already_done"]
DONE_STATUSES = frozenset({"ok", "partial", "skipped"})  # a rerun does not scan these again


class Analyser(Protocol):
    """The analysis step of triage: records of one hive -> finding rows.

    Must be picklable (a module-level class instance) and pure: it runs in workers. Rows
    use the columns of ``FINDINGS_SCHEMA``; ``host``, ``hive_path`` and ``hive_sha256``
    are filled in by triage when absent.
    """

    @property
    def name(self) -> str:
        """Recorded in the hives dataset (``analyser``); ``none`` means no detection ran."""
        ...

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class NoAnalysis:
    """No detection engine connected: no findings, and the hives rows say ``analyser = "none"``."""

    name: str = "none"

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]:
        return ()


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How to scan each hive; picklable, sent with every batch."""

    control_set: str | int = "current"
    lenient: bool = False
    backend: str = "regipy-rs"
    analyse: Analyser = field(default_factory=NoAnalysis)
    readers: tuple[ContainerReader, ...] = ()
    logs: bool = True  # replay the transaction logs of dirty hives (next to the file, or inside the image)
    deleted: bool = False  # also the service keys recovered from free cells (a scan of the whole hive)
    # inputs already done (resume), as (path, member, sha256): read and hashed, not rebuilt; the same
    # content under another path is scanned again, so every input path has its own row
    skip_done: frozenset[tuple[str, str, str]] = frozenset()
    run_id: str = ""
    files: bool = True  # a hive at <volume>\Windows\System32\config\SYSTEM (KAPE, mounted): read the binaries too
    events: bool = True  # the same volume's (or image's) event logs joined with its hive (triage/hostlogs.py)


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


def _failure(exc: BaseException) -> tuple[Status, Diagnostic]:
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


def _open_source(item: HiveInput, options: ScanOptions) -> tuple[HiveSource, Any]:
    """The hive bytes and the ``logs=`` choice for :func:`hivescan.open_hive`."""
    if not options.logs:
        logs: Any = "none"
    elif item.logs:
        logs = list(item.logs)
    else:
        logs = "auto"
    if item.kind in ("hive", "other"):
        return HiveSource.from_file(item.path), logs
    for reader in options.readers:
        if reader.name == item.kind:
            try:
                source = reader.open(item)
                open_logs = getattr(reader, "open_logs", None)
                if options.logs and open_logs is not None:
                    from hivescan.hive.logs import parse_log

                    found = [parse_log(log.data, log.path) for log in open_logs(item)]
                    logs = found or "auto"
                return source, logs
            except HivescanError:
                raise
            except Exception as exc:  # the image library's own errors: the image, not hivescan
                raise ImageError(f"{item.label}: {type(exc).__name__}: {exc}") from exc
    raise ImageError(f"{item.label}: no reader for {item.kind!r} inputs in this build")


def _unscannable(item: HiveInput) -> Diagnostic | None:
    """Inputs refused before reading them: logs given by name, images without a reader."""
    if item.kind == "log":
        return Diagnostic(
            "transaction_log_input",
            "",
            f"{item.path} is a registry transaction log, not a hive; give its primary file",
            "info",
        )
    if item.kind == "special":
        return Diagnostic("input_unreadable", "", f"{item.path}: not a regular file (device, pipe or socket)", "error")
    if item.kind == "image":
        return Diagnostic(
            "image_unsupported",
            "",
            f"{item.path} looks like a disk image; this build has no disk-image reader connected",
            "error",
        )
    return None


def _volume_folder(item: HiveInput, options: ScanOptions) -> Any:
    """The volume folder a hive file sits in (``...\\Windows\\System32\\config\\SYSTEM``) as a
    file source, or None: then the records carry no file facts, as for any bare hive."""
    if not options.files or item.kind not in ("hive", "other"):
        return None
    path = Path(item.path)
    if [p.upper() for p in path.parts[-4:]] != ["WINDOWS", "SYSTEM32", "CONFIG", "SYSTEM"]:
        return None
    from hivescan.files.source import FolderSource

    return FolderSource(path.parents[3])


def scan_one(
    item: HiveInput | str | os.PathLike[str],
    options: ScanOptions | None = None,
    file_cache: dict[str, dict[str, Any]] | None = None,
    logs_read: list[Any] | None = None,  # the host's own logs, when read for the join (triage/hostlogs.py)
) -> TriageResult:
    """Scan one input; never raises for bad input (the outcome carries the error).

    Example::

        result = scan_one("evidence/HOST1/SYSTEM")
        result.outcome.host, result.outcome.status, len(result.records)

    ``file_cache``: facts of binaries by sha256, shared by the hives of a batch (hosts share
    most binaries: each is verified once).
    """
    import hivescan

    options = options or ScanOptions()
    if not isinstance(item, HiveInput):
        item = HiveInput(str(Path(item)))
    started = time.perf_counter()
    base = new_outcome(item, options)

    def done(outcome: HiveOutcome, *rest: Any) -> TriageResult:
        return TriageResult(replace(outcome, duration_s=time.perf_counter() - started), *rest)

    refused = _unscannable(item)
    if refused is not None:
        status: Status = "skipped" if refused.level == "info" else "error"
        return done(replace(base, status=status, error_code=refused.code, error_message=refused.message))
    try:
        source, logs = _open_source(item, options)
    except Exception as exc:  # one bad input never stops the batch
        status, diag = _failure(exc)
        return done(replace(base, status=status, error_code=diag.code, error_message=diag.message))
    base = replace(base, size=len(source.data))
    if options.skip_done and (item.path, item.member, source.sha256) in options.skip_done:
        return done(replace(base, status="already_done", sha256=source.sha256))
    hive: SystemHive | None = None
    try:
        files = _volume_folder(item, options)
        hive = hivescan.open_hive(
            source,
            backend=options.backend,
            logs=logs,
            files=files,
            file_cache=file_cache,
            record_memo=worker_record_memo(),
        )
        return done(*_scan_open_hive(hive, base, options, item, logs_read))
    except Exception as exc:
        status, diag = _failure(exc)
        outcome = replace(base, status=status, sha256=source.sha256, error_code=diag.code, error_message=diag.message)
        if hive is not None:
            outcome = replace(outcome, diagnostics=tuple(hive.hive_diagnostics()))
        return done(outcome)
    finally:
        if hive is not None:
            hive.close()


@cache
def worker_record_memo() -> RecordMemo:
    """The decoded service keys a worker process remembers across its hives (one per process,
    bounded: see :class:`~hivescan.scm.services.RecordMemo`); stock services repeat from host
    to host. Owned here, by the worker, so that a library caller of ``open_hive`` shares
    nothing between calls unless it passes a memo of its own."""
    from hivescan.scm.services import RecordMemo  # here: the triage parent imports this module

    return RecordMemo()


def _scan_open_hive(
    hive: SystemHive, base: HiveOutcome, options: ScanOptions, item: HiveInput | None = None, logs_read: Any = None
) -> tuple[HiveOutcome, tuple[ServiceRecord, ...], tuple[Mapping[str, Any], ...]]:
    host, host_diags = hive.computer_name()
    records = tuple(hive.services(options.control_set, lenient=options.lenient, deleted=options.deleted))
    diags = [*hive.hive_diagnostics(), *host_diags]
    if options.events:  # the host's own logs: findings of the join land in OUTDIR/findings
        from hivescan.triage.hostlogs import join_host_logs

        records, log_diags = join_host_logs(hive, records, host, item, options.readers, logs_read)
        diags += log_diags
    evidence = hive.primary_base or hive.reader.base
    windows = hive.windows_version()  # cached on the hive: the analysis reads the same answer
    outcome = replace(
        base,
        windows_version=windows.label if windows.known else None,
        windows_build=windows.build,
        windows_confidence=windows.confidence,
        host=host,
        sha256=hive.sha256,
        records=len(records),
        control_sets=tuple(sorted({r.origin.control_set for r in records if r.origin.control_set is not None})),
        dirty=evidence.dirty,  # the file as collected, not the in-memory replayed image
        hive_last_written=filetime_to_iso(evidence.last_written),
        analyser=options.analyse.name,
        diagnostics=tuple(diags),
    )
    try:
        findings = tuple(_finding_row(row, host, hive) for row in options.analyse(hive, records, host))
    except Exception as exc:  # records are kept; the outcome says analysis failed
        diag = Diagnostic("analyse_failed", "", f"{options.analyse.name}: {type(exc).__name__}: {exc}", "error")
        return replace(outcome, status="partial", error_code=diag.code, error_message=diag.message), records, ()
    if isinstance(options.analyse, NoAnalysis):
        return outcome, records, ()  # findings stays null: no analysis ran (not "0 found")
    return replace(outcome, findings=len(findings)), records, findings


def _finding_row(row: Mapping[str, Any], host: str | None, hive: SystemHive) -> dict[str, Any]:
    out = dict(row)
    out.setdefault("host", host)
    out.setdefault("hive_path", hive.path)
    out.setdefault("hive_sha256", hive.sha256)
    return out


# -- one batch, in a worker


@dataclass(frozen=True, slots=True)
class ChunkOutput:
    """What a worker sends back for one batch: Parquet bytes per dataset, and the outcomes."""

    index: tuple[int, ...]  # the batch's position in the run (a split batch adds a level)
    services: bytes
    findings: bytes
    hives: bytes
    outcomes: tuple[HiveOutcome, ...]
    host_logs: tuple[Any, ...] = ()  # hostlogs.HostLogs the joins read: OUTDIR/events needs no second read


def parquet_bytes(table: Any) -> bytes:
    """One dataset part: min/max statistics only where a reader can filter on them
    (:func:`~hivescan.triage.schema.statistics_columns`), and zstd for every column that holds
    a value. A column of nulls only is stored uncompressed: its pages are a run-length count
    and nothing else, which zstd cannot shrink (the part came out 1 KB *smaller* per batch),
    while each zstd call costs about 20 us of set-up, two per column (measured: 4% of the
    services part's CPU; the 36 file columns of a bare hive are all null)."""
    import pyarrow.parquet as pq

    from hivescan.triage.schema import parquet_layout

    layout = parquet_layout(table.schema)
    codecs = {}
    for name, leaves in layout.leaves:
        column = table.column(name)
        codec = "none" if column.null_count == len(column) else "zstd"
        for leaf in leaves:
            codecs[leaf] = codec
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=codecs, write_statistics=list(layout.statistics))
    return buffer.getvalue()


def scan_chunk(index: tuple[int, ...], items: Sequence[HiveInput], options: ScanOptions) -> ChunkOutput:
    """Scan a batch and encode its rows (the task a worker runs).

    Each hive's rows are encoded on their own, so a hive whose rows cannot be encoded
    becomes an ``internal_error`` row and never costs the batch. Inputs already done
    (``options.skip_done``) give an outcome but no row.
    """
    import pyarrow as pa

    from hivescan.triage.schema import FINDINGS_SCHEMA, HIVES_SCHEMA, service_rows, services_schema, table_from_rows

    services: list[Any] = [table_from_rows([], services_schema())]
    findings: list[Any] = [table_from_rows([], FINDINGS_SCHEMA)]
    outcomes: list[HiveOutcome] = []
    file_cache: dict[str, dict[str, Any]] = {}  # binaries' facts by sha256, across the batch's hosts
    logs_read: list[Any] = []
    for item in items:
        result = scan_one(item, options, file_cache, logs_read)
        outcome = result.outcome
        if outcome.status != "already_done":
            try:
                hive_services = table_from_rows(service_rows(result.records, outcome.host), services_schema())
                hive_findings = table_from_rows(result.findings, FINDINGS_SCHEMA)
            except Exception as exc:
                diag = Diagnostic(
                    "internal_error", "", f"rows could not be encoded: {type(exc).__name__}: {exc} (a bug in hivescan)"
                )
                outcome = replace(
                    outcome, status="error", records=0, findings=None, error_code=diag.code, error_message=diag.message
                )
            else:
                services.append(hive_services)
                findings.append(hive_findings)
        outcomes.append(outcome)
    hive_rows = [o.to_row() for o in outcomes if o.status != "already_done"]
    return ChunkOutput(
        index,
        parquet_bytes(pa.concat_tables(services)),
        parquet_bytes(pa.concat_tables(findings)),
        parquet_bytes(table_from_rows(hive_rows, HIVES_SCHEMA)),
        tuple(outcomes),
        tuple(logs_read),
    )
