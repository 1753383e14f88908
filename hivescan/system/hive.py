"""The open SYSTEM hive: its reader, control sets and service database, with what it learns kept.

The parts an analyst asks for less often live beside it: the machine's name and Windows
(machine.py), the summary (info.py), what a log replay changed (replayed.py), deleted keys
(recovered.py); :class:`SystemHive`'s methods are their one entry point.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import ControlSetError, HiveDamaged, ServiceNotFound, WrongHiveType
from hivescan.gcpause import gc_paused
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, parse_base_block
from hivescan.hive.kind import guess_kind, looks_like_system
from hivescan.hive.logs import LogFile, LogsOption, ReplayResult, load_logs, replay
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader, Key
from hivescan.scm.bootplan import BootPlan
from hivescan.scm.controlsets import (
    ExistingSets,
    Resolution,
    SelectValues,
    decode_ccs_link,
    existing_sets,
    read_select,
    resolve,
)
from hivescan.scm.database import DatabaseContext, annotate_database, build_context, read_control_data
from hivescan.scm.record import HiveRef, ServiceRecord
from hivescan.scm.services import RecordMemo, build_service_database
from hivescan.scm.software import SoftwareData
from hivescan.scm.winversion import WindowsVersion
from hivescan.system import info as _info
from hivescan.system import machine as _machine
from hivescan.system import recovered as _recovered
from hivescan.system.info import ControlSetInfo, HiveInfo
from hivescan.system.replayed import mark_replay_changes
from hivescan.system.software import open_software
from hivescan.timeutil import filetime_to_iso

if TYPE_CHECKING:
    import pandas as pd

    from hivescan.events.found import LogLocation
    from hivescan.files.facts import FileAnalyser
    from hivescan.files.source import FileSource
    from hivescan.hive.recover import KeyScan
    from hivescan.scm.deleted import Recovery


class SystemHive:
    """An open SYSTEM hive. Use as a context manager or call :meth:`close`.

    ``logs``: ``"auto"`` (default) replays the ``.LOG1``/``.LOG2``/``.LOG`` files next to a
    dirty hive, ``"none"`` reads the primary file alone, or a list of log files. A clean
    hive is read as it is and its logs are not even opened (until :meth:`info` lists them).
    After a replay, ``source`` is the replayed image (same sha256, ``location["derived"]``
    says so) and ``evidence`` is the file as given.
    """

    def __init__(
        self,
        source: HiveSource,
        *,
        backend: str = "regipy-rs",
        max_value_bytes: int = 1 << 20,
        require_system: bool = True,
        logs: LogsOption = "auto",
        software: str | os.PathLike[str] | HiveSource | SoftwareData | None = None,
        files: FileSource | None = None,
        file_cache: dict[str, dict[str, Any]] | None = None,
        record_memo: RecordMemo | None = None,
    ) -> None:
        self.evidence = source
        # decoded service keys remembered across hives by whoever owns the memo (a triage
        # worker: hivescan.triage.scan.worker_record_memo); None decodes every key afresh
        self._record_memo = record_memo
        # the binaries (topic: files): where the files services name are read; None: a bare hive
        self.files: FileAnalyser | None = None
        if files is not None:
            from hivescan.files.facts import FileAnalyser

            self.files = FileAnalyser(files, cache=file_cache)
        self._on_close: list[Any] = []  # e.g. the disk image the files are read from
        # the input's own event logs (folder, collection, image and its shadow copies): where
        # the System, Security and Sysmon logs are looked for (hivescan.events.found)
        self.event_locations: list[LogLocation] = []
        if files is not None:
            from hivescan.events.found import LogLocation

            self.event_locations = [LogLocation("live", files)]
        self._options: dict[str, Any] = {"backend": backend, "max_value_bytes": max_value_bytes}
        self._logs_option: LogsOption = logs
        self._log_files: list[LogFile] | None = None
        self._primary_view: SystemHive | None = None
        self.log_replay: ReplayResult | None = None
        self.primary_base: BaseBlock | None = _peek_base_block(source.data)
        if isinstance(logs, str) and logs not in ("auto", "none"):
            raise ValueError(f"logs: 'auto', 'none' or a list of log files, not {logs!r}")
        if self.primary_base is not None and self.primary_base.dirty and logs != "none":
            self.log_replay = replay(source.data, self.log_files())
            if self.log_replay.image is not None:
                source = source.derived(self.log_replay.image, self.log_replay.note())
        self.source = source
        self.reader = HiveReader(source, backend=backend, max_value_bytes=max_value_bytes)
        self._finalizer = weakref.finalize(self, self.reader.close)
        root = self.reader.root()
        root_names = [k.name for k in root.subkeys()]
        if require_system and not looks_like_system(root_names):
            declared = root.declared_subkey_count or 0
            self.close()
            if len(root_names) < declared:
                why = "; ".join(d.message for d in self.reader.diagnostics if d.level == "error") or "damaged"
                raise HiveDamaged(
                    f"{source.path}: the root key lists {declared} subkeys but {len(root_names)} are readable ({why})"
                )
            kind = guess_kind(root_names, self.reader.base.file_name)
            raise WrongHiveType(f"{source.path}: {kind}")
        self._own_diagnostics: list[Diagnostic] = []
        self._hive_ref: HiveRef | None = None
        self._key_scan: KeyScan | None = None
        self._recoveries: dict[tuple[bool, bool], Recovery] = {}
        self._windows: dict[str, WindowsVersion] = {}
        self.software: SoftwareData | None = None
        if software is not None:
            try:
                self.software = (
                    software
                    if isinstance(software, SoftwareData)
                    else open_software(software, backend=backend, max_value_bytes=max_value_bytes)
                )
            except BaseException:
                self.close()
                raise
            self._own_diagnostics += self.software.diagnostics
        select_key = root.subkey("Select")
        self.select: SelectValues
        self.select, diags = read_select(select_key.values() if select_key is not None else None)
        self._own_diagnostics += diags
        self.existing: ExistingSets
        self.existing, diags = existing_sets(root_names)
        self._own_diagnostics += diags
        self.ccs_link: int | None = None
        ccs = root.subkey("CurrentControlSet")
        if ccs is not None:
            current = self.resolve("current").chosen
            self.ccs_link, diags = decode_ccs_link(ccs.is_symlink, ccs.values(), current[0].number if current else None)
            self._own_diagnostics += diags

    # -- lifecycle

    def close(self) -> None:
        if self._primary_view is not None:
            self._primary_view.close()
        for closer in getattr(self, "_on_close", ()):
            closer()
        self._finalizer()

    def __enter__(self) -> SystemHive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- control sets

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def sha256(self) -> str:
        return self.source.sha256

    @property
    def hive_ref(self) -> HiveRef:
        """The provenance shared by every record of this hive."""
        if self._hive_ref is None:
            self._hive_ref = HiveRef(self.source.path, self.source.digest, self.source.location)
        return self._hive_ref

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Hive-level diagnostics (reading trouble, Select, control sets)."""
        return list(self.reader.diagnostics) + self._own_diagnostics

    def resolve(self, control_set: str | int = "current") -> Resolution:
        return resolve(control_set, self.select, self.existing)

    def control_set_key(self, number: int) -> Key | None:
        name = self.existing.sets.get(number)
        return self.reader.root().subkey(name) if name else None

    def roles(self) -> dict[int, tuple[str, ...]]:
        """Control set number -> the Select values naming it (current, default, lkg, failed)."""
        roles: dict[int, tuple[str, ...]] = {}
        for role in ("current", "default", "lkg", "failed"):
            number = self.select.get(role)
            if number:
                roles[number] = (*roles.get(number, ()), role)
        return roles

    def control_sets(self) -> list[ControlSetInfo]:
        roles = self.roles()
        out = []
        for number in self.existing.numbers:
            key = self.control_set_key(number)
            services = key.subkey("Services") if key is not None else None
            out.append(
                ControlSetInfo(
                    number,
                    self.existing.sets[number],
                    filetime_to_iso(key.last_write) if key is not None and key.last_write else None,
                    len(services.subkeys()) if services is not None else None,
                    tuple(roles.get(number, ())),
                    key.last_write if key is not None else None,
                )
            )
        return out

    # -- the machine (triage): which host this hive belongs to (system/machine.py)

    def computer_name(self, control_set: str | int = "current") -> tuple[str | None, list[Diagnostic]]:
        """The ``ComputerName`` Windows takes at boot, or None with a diagnostic saying why."""
        return _machine.computer_name(self, control_set)

    def windows_version(self, control_set: str | int = "current") -> WindowsVersion:
        """Which Windows wrote this hive, with a confidence and the values it rests on."""
        return _machine.windows_version(self, control_set)

    # -- the service database

    def services(
        self, control_set: str | int = "current", *, lenient: bool = False, deleted: bool = False
    ) -> list[ServiceRecord]:
        """Records of every Services subkey in the chosen control set(s), in hive order.

        ``control_set``: current (default), default, lkg, failed, all, or a number.
        ``deleted``: append the records of :meth:`deleted_services` for the same sets.
        Raises ControlSetError when nothing can be chosen.
        """
        records = self._live_services(control_set, lenient=lenient)
        fresh = len(records)
        if deleted:
            records += _recovered.deleted_records(self, control_set, unattributed=False, lenient=lenient)
        return self.attach_files(records, fresh=fresh)

    def attach_files(self, records: list[ServiceRecord], *, fresh: int = 0) -> list[ServiceRecord]:
        """Records with ``image_file`` / ``service_dll_file`` filled when the input holds files.

        The first ``fresh`` records are unpublished (just built by :meth:`services`): they are
        completed in place, as the database pass completes them (scm/database.py says why:
        ``replace`` on the large record costs ~10 us, 7 ms per hive); the others are copied."""
        analyser = self.files
        if analyser is None:
            return records
        facts = analyser.facts_many(p for r in records for p in (r.image_path_resolved, r.service_dll_expanded))
        out = []
        put = object.__setattr__  # fresh records only (above)
        pairs = iter(facts)
        for index, (record, image, dll) in enumerate(zip(records, pairs, pairs)):
            if image is None and dll is None:
                out.append(record)
            elif index < fresh:
                put(record, "image_file", image)
                put(record, "service_dll_file", dll)
                out.append(record)
            else:
                out.append(replace(record, image_file=image, service_dll_file=dll))
        for diag in analyser.catalogs.diagnostics if analyser.catalogs_built else ():
            self._note_once(diag.code, diag.message, diag.level)
        if not analyser.binaries_collected:
            self._note_once(
                "files_not_collected",
                "the input holds no Windows core binaries (System32\\ntoskrnl.exe, ntdll.dll, kernel32.dll, "
                "services.exe, svchost.exe): a collection of a few artefacts; a service binary not in it may "
                "exist on the machine (exists is null, not false)",
                "warning",
            )
        return out

    def _live_services(self, control_set: str | int, *, lenient: bool) -> list[ServiceRecord]:
        with gc_paused():
            return self._build_live_services(control_set, lenient=lenient)

    def _build_live_services(self, control_set: str | int, *, lenient: bool) -> list[ServiceRecord]:
        try:
            resolution = self.resolve(control_set)
        except ValueError as exc:
            raise ControlSetError(str(exc)) from exc
        if not resolution.chosen:
            why = "; ".join(d.message for d in resolution.diagnostics) or "no control set"
            raise ControlSetError(f"{self.path}: {why}")
        records: list[ServiceRecord] = []
        hive = self.hive_ref
        for chosen in resolution.chosen:
            key = self.control_set_key(chosen.number)
            services = key.subkey("Services") if key is not None else None
            if services is None:
                self._note_once(
                    "services_key_missing",
                    f"{chosen.name} has no readable Services key; no records from this set",
                )
                continue
            built = build_service_database(
                services,
                hive=hive,
                control_set=chosen.number,
                control_set_source=chosen.source,
                lenient=lenient,
                memo=self._record_memo,
            )
            # set-wide facts (spec §5-§8); the records are fresh, so they are completed in place
            control = read_control_data(key.subkey("Control") if key is not None else None)
            result = annotate_database(built, control, self.software, in_place=True)
            for diag in result.diagnostics:
                self._note_diag(diag, chosen.name)
            records += result.records
        for diag in resolution.diagnostics:
            self._note_once(diag.code, diag.message)
        if self.log_replay is not None and self.log_replay.replayed:
            records = mark_replay_changes(self, records, [c.number for c in resolution.chosen], lenient)
        return records

    # -- transaction logs

    def log_files(self) -> list[LogFile]:
        """The transaction logs chosen by ``logs=`` (read and checked on first use)."""
        if self._log_files is None:
            self._log_files = load_logs(self.evidence.file_path, self._logs_option)
        return self._log_files

    def database_contexts(self, control_set: str | int = "current") -> dict[int, DatabaseContext]:
        """The environment, group order and SOFTWARE data the records of each chosen set used."""
        try:
            resolution = self.resolve(control_set)
        except ValueError as exc:
            raise ControlSetError(str(exc)) from exc
        out: dict[int, DatabaseContext] = {}
        for chosen in resolution.chosen:
            key = self.control_set_key(chosen.number)
            out[chosen.number] = build_context(
                read_control_data(key.subkey("Control") if key is not None else None), self.software
            )
        return out

    def boot_plans(
        self,
        control_set: str | int = "current",
        *,
        lenient: bool = False,
        records: list[ServiceRecord] | None = None,
    ) -> list[BootPlan]:
        """What starts at boot, in order, per control set (spec §6.3).

        ``records``: reuse records from :meth:`services` instead of rebuilding them.
        """
        return BootPlan.from_records(records if records is not None else self.services(control_set, lenient=lenient))

    def find_service(
        self, name: str, control_set: str | int = "current", *, lenient: bool = False
    ) -> list[ServiceRecord]:
        """The records of one service (ci), one per chosen control set; ServiceNotFound if none."""
        from hivescan.hive.tree import upcase

        records = self.services(control_set, lenient=lenient)
        wanted = upcase(name)
        found = [r for r in records if upcase(r.name) == wanted]
        if not found:
            import difflib

            names = sorted({r.name for r in records})
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ServiceNotFound(f"{self.path}: no service named {name!r} in control set(s) {control_set}{hint}")
        return found

    def services_frame(
        self, control_set: str | int = "current", *, lenient: bool = False, deleted: bool = False
    ) -> pd.DataFrame:
        """The records as one typed pandas DataFrame (see :mod:`hivescan.frames`)."""
        from hivescan.frames import services_frame

        return services_frame(self.services(control_set, lenient=lenient, deleted=deleted))

    # -- deleted and orphaned services (system/recovered.py, hivescan/scm/deleted.py)

    def key_scan(self) -> KeyScan:
        """Every key record in the bins, live or not (built on first use, then kept)."""
        return _recovered.key_scan(self)

    def recovery(self, *, unattributed: bool = False, lenient: bool = False) -> Recovery:
        """Service keys rebuilt from free cells (deleted) and unreachable cells (orphaned),
        every control set, plus hive-level notes. Runs only when asked: it scans the whole hive."""
        return _recovered.recovery(self, unattributed=unattributed, lenient=lenient)

    def deleted_services(
        self, control_set: str | int = "all", *, unattributed: bool = False, lenient: bool = False
    ) -> list[ServiceRecord]:
        """Deleted and orphaned service records of the chosen control set(s) (default: all).

        ``unattributed``: also service-like deleted keys whose parent chain is lost
        (control_set None; they are only counted otherwise).
        """
        return _recovered.deleted_services(self, control_set, unattributed=unattributed, lenient=lenient)

    # -- summary (system/info.py)

    def info(self, *, recover: bool = True) -> HiveInfo:
        """The evidence file's base block (dirty or clean), its logs and their replay, the tree;
        ``recover`` also counts deleted/orphaned service keys (a full scan)."""
        return _info.hive_info(self, recover=recover)

    def hive_diagnostics(self) -> list[Diagnostic]:
        """Everything an analyst should be warned about at the hive level."""
        return _info.hive_diagnostics(self)

    def _note_diag(self, diag: Diagnostic, where: str) -> None:
        """A set-level diagnostic of the database pass, once, with its level kept."""
        note = Diagnostic(diag.code, diag.field, f"{where}: {diag.message}", diag.level)
        if note not in self._own_diagnostics:
            self._own_diagnostics.append(note)

    def _note_once(self, code: str, message: str, level: str = "warning") -> None:
        if not any(d.code == code and d.message == message for d in self._own_diagnostics):
            self._own_diagnostics.append(Diagnostic(code, "", message, level))  # type: ignore[arg-type]


def _peek_base_block(data: bytes) -> BaseBlock | None:
    """The base block of hive bytes, or None when there is none to read (HiveReader says why)."""
    if len(data) < BASE_BLOCK_SIZE or data[:4] != REGF_SIGNATURE:
        return None
    return parse_base_block(data)


__all__ = ["SystemHive"]
