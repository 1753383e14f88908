"""Scan one hive for triage: :func:`scan_one` reads an input, names its host, rebuilds the
service database and runs the analysis step.

It never raises for a bad input: the outcome says what happened (``status`` ok / partial /
skipped / error, an ``error_code`` documented in docs/diagnostics.md, "Triage"). Its argument
and result are picklable, so the same function runs in-process, in a process pool and on
Dask workers.

References: style.md R12; scm-spec.md §1 (control sets), §8 (per-user services).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import HivescanError, ImageError
from hivescan.hive.source import HiveSource
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import filetime_to_iso
from hivescan.triage.inputs import HiveInput
from hivescan.triage.options import NoAnalysis, ScanOptions
from hivescan.triage.outcome import HiveOutcome, Status, TriageResult, failure_status, new_outcome
from hivescan.triage.worker_memo import worker_record_memo

if TYPE_CHECKING:
    from hivescan.system import SystemHive


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
        status, diag = failure_status(exc)
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
        status, diag = failure_status(exc)
        outcome = replace(base, status=status, sha256=source.sha256, error_code=diag.code, error_message=diag.message)
        if hive is not None:
            outcome = replace(outcome, diagnostics=tuple(hive.hive_diagnostics()))
        return done(outcome)
    finally:
        if hive is not None:
            hive.close()


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


__all__ = ["scan_one"]
