"""A SYSTEM hive opened for analysis: the object the CLI and notebooks share.

``open_hive(path)`` -> :class:`SystemHive` with ``info()``, ``services()`` and
``services_frame()``. It joins the stages (hive -> control set -> service database) and
knows nothing of findings or output formats.
"""

from __future__ import annotations

import os
import weakref
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import ControlSetError, HiveDamaged, HivescanError, ServiceNotFound, WrongHiveType
from hivescan.gcpause import gc_paused
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, parse_base_block
from hivescan.hive.kind import guess_kind, looks_like_system
from hivescan.hive.logs import LogFile, LogInfo, LogsOption, ReplayResult, load_logs, parse_log, replay
from hivescan.hive.marvin import IMPLEMENTATION as MARVIN32_IMPLEMENTATION
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader, Key, upcase
from hivescan.scm.bootplan import BootPlan
from hivescan.scm.controlsets import (
    ExistingSets,
    Resolution,
    SelectValues,
    decode_ccs_link,
    existing_sets,
    parse_mode,
    read_select,
    resolve,
)
from hivescan.scm.database import DatabaseContext, annotate_database, build_context, read_control_data
from hivescan.scm.logdiff import mark_log_changes
from hivescan.scm.logmarks import Declined, mark_touched
from hivescan.scm.record import HiveRef, ServiceRecord
from hivescan.scm.services import RecordMemo, build_service_database
from hivescan.scm.software import SoftwareData, read_software
from hivescan.scm.winversion import SERVICE_MARKERS, WindowsVersion, combine, from_software, from_system

if TYPE_CHECKING:
    from hivescan.events.found import LogLocation
    from hivescan.files.facts import FileAnalyser
    from hivescan.files.source import FileSource
    from hivescan.hive.recover import KeyScan
    from hivescan.scm.deleted import Recovery
from hivescan.timeutil import filetime_to_iso

if TYPE_CHECKING:
    import pandas as pd


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

    # -- the machine (triage): which host this hive belongs to

    def computer_name(self, control_set: str | int = "current") -> tuple[str | None, list[Diagnostic]]:
        """The ``ComputerName`` value of ``<set>\\Control\\ComputerName\\ComputerName``.

        The name Windows takes at boot (``ActiveComputerName`` is volatile and never in the
        file), from the control set chosen the normal way (``Select``, with fallbacks).
        None plus a ``computer_name_missing`` diagnostic when the set, key or value is absent;
        odd storage gives the decoder's diagnostics.

        References: scm-spec.md §1 (control set resolution), §9.2 (value reading rules).
        """
        from hivescan.scm.decode import decode_string

        try:
            chosen = self.resolve(control_set).chosen
        except ValueError as exc:
            return None, [Diagnostic("computer_name_missing", "ComputerName", str(exc))]
        if not chosen:
            return None, [Diagnostic("computer_name_missing", "ComputerName", "no control set to read it from")]
        where = f"{chosen[0].name}\\Control\\ComputerName\\ComputerName"
        key = self.reader.key(where)
        value = key.value("ComputerName") if key is not None else None
        if value is None:
            return None, [Diagnostic("computer_name_missing", "ComputerName", f"no ComputerName value in {where}")]
        decoded, diags = decode_string("ComputerName", value)
        if not decoded.value:
            return None, [*diags, Diagnostic("computer_name_missing", "ComputerName", f"empty ComputerName in {where}")]
        return decoded.value, diags

    def windows_version(self, control_set: str | int = "current") -> WindowsVersion:
        """Which Windows wrote this hive (SYSTEM alone, or with the SOFTWARE hive when given),
        with a confidence and the values it rests on: see :mod:`hivescan.scm.winversion`."""
        from hivescan.scm.decode import decode_dword, decode_string

        cache_key = str(control_set)
        if cache_key in self._windows:
            return self._windows[cache_key]
        try:
            chosen = self.resolve(control_set).chosen
        except ValueError:
            chosen = ()
        set_name = chosen[0].name if chosen else None

        def decoded(path: str) -> dict[str, Any]:
            key = self.reader.key(f"{set_name}\\{path}") if set_name is not None else None
            out: dict[str, Any] = {}
            for value in key.values() if key is not None else ():
                if value.type == 4:  # REG_DWORD
                    out[value.name] = decode_dword(value.name, value)[0]
                elif value.type in (1, 2):  # REG_SZ, REG_EXPAND_SZ
                    out[value.name] = decode_string(value.name, value)[0].value
            return out

        services_key = self.reader.key(f"{set_name}\\Services") if set_name is not None else None
        keys = services_key.subkeys() if services_key is not None else []
        names = [k.name for k in keys]
        marked = any(upcase(n).lower() in marker for n in names for _v, _h, marker in SERVICE_MARKERS)
        svchost_hosted = None if marked or not keys else any(_runs_svchost(k) for k in keys)
        system = from_system(
            decoded("Control\\Windows"), decoded("Control\\ProductOptions"), names, svchost_hosted=svchost_hosted
        )
        software = from_software(self.software.current_version) if self.software is not None else None
        found = combine(system, software)
        self._windows[cache_key] = found
        return found

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
            records += self._deleted_services(control_set, unattributed=False, lenient=lenient)
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
            records = self._mark_log_changes(records, [c.number for c in resolution.chosen], lenient)
        return records

    # -- transaction logs

    def log_files(self) -> list[LogFile]:
        """The transaction logs chosen by ``logs=`` (read and checked on first use)."""
        if self._log_files is None:
            self._log_files = load_logs(self.evidence.file_path, self._logs_option)
        return self._log_files

    def _replay_for_report(self) -> ReplayResult | None:
        """The replay result, or for a clean hive a dry run that reports the logs."""
        usable = self.log_replay is None and self._logs_option != "none" and self.primary_base is not None
        if usable and self.log_files():
            self.log_replay = replay(self.evidence.data, self.log_files())
        return self.log_replay

    def _mark_log_changes(self, records: list[ServiceRecord], numbers: list[int], lenient: bool) -> list[ServiceRecord]:
        """Mark records the replay changed, against the primary file read alone (scm/logdiff.py).

        One control set: only the records whose bytes the replay changed are compared
        (scm/logmarks.py); otherwise, or when that declines, every record is (the reference).
        """
        try:
            marked = self._mark_touched(records, numbers, lenient)
            if marked is None:
                if self._primary_view is None:
                    self._primary_view = SystemHive(self.evidence, logs="none", require_system=False, **self._options)
                marked = self._mark_by_rebuild(self._primary_view, records, numbers, lenient)
        except (HivescanError, ValueError) as exc:
            self._note_once(
                "log_replay_compare_failed",
                f"the primary file alone could not be read to find what the log replay changed: {exc}",
            )
            return records
        for diag in marked[1]:
            self._note_once(diag.code, diag.message)
        return marked[0]

    def _mark_touched(
        self, records: list[ServiceRecord], numbers: list[int], lenient: bool
    ) -> tuple[list[ServiceRecord], list[Diagnostic]] | None:
        """The marking of :func:`hivescan.scm.logmarks.mark_touched`, or None when it declines.

        Its own view of the primary file, read only as far as the shortcut needs: the view the
        reference uses is left as a full rebuild would leave it."""
        replayed = self.log_replay
        if len(numbers) != 1 or replayed is None:
            return None
        with SystemHive(self.evidence, logs="none", require_system=False, **self._options) as view:
            after_set, before_set = self.control_set_key(numbers[0]), view.control_set_key(numbers[0])
            if after_set is None or before_set is None:
                return None
            try:
                marked = mark_touched(
                    records,
                    replayed=self.reader,
                    primary=view.reader,
                    writes=replayed.writes,
                    after_set=after_set,
                    before_set=before_set,
                    number=numbers[0],
                    primary_hive=view.hive_ref,
                    lenient=lenient,
                )
            except Declined:
                return None
        return marked.records, marked.diagnostics

    @staticmethod
    def _mark_by_rebuild(
        view: SystemHive, records: list[ServiceRecord], numbers: list[int], lenient: bool
    ) -> tuple[list[ServiceRecord], list[Diagnostic]]:
        """The reference: every record of the primary file read alone, compared."""
        before: list[ServiceRecord] = []
        for number in numbers:
            if number in view.existing.sets:
                before += view.services(number, lenient=lenient)
        return mark_log_changes(before, records)

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

    # -- deleted and orphaned services (hivescan/scm/deleted.py)

    def key_scan(self) -> KeyScan:
        """Every key record in the bins, live or not (built on first use, then kept)."""
        if self._key_scan is None:
            from hivescan.hive.recover import KeyScan

            self._key_scan = KeyScan(self.source.data, self.reader.base, self.reader.cells)
        return self._key_scan

    def recovery(self, *, unattributed: bool = False, lenient: bool = False) -> Recovery:
        """Service keys rebuilt from free cells (deleted) and unreachable cells (orphaned),
        every control set, plus hive-level notes. Runs only when asked: it scans the whole hive."""
        cache_key = (unattributed, lenient)
        if cache_key not in self._recoveries:
            from hivescan.scm.deleted import LiveServices, recover_services

            live: dict[int, LiveServices] = {}
            for number in self.existing.numbers:
                cs_key = self.control_set_key(number)
                services = cs_key.subkey("Services") if cs_key is not None else None
                if services is None:
                    live[number] = LiveServices(None, frozenset(), {})
                    continue
                subkeys = services.subkeys()
                records = self._live_services(number, lenient=lenient)
                live[number] = LiveServices(
                    services.cell_offset,
                    frozenset(k.cell_offset for k in subkeys if k.cell_offset is not None),
                    {upcase(r.name): r for r in records},
                    all(k.cell_offset is not None for k in subkeys),
                )
            recovery = recover_services(
                self.key_scan(), hive=self.hive_ref, live=live, unattributed=unattributed, lenient=lenient
            )
            self._annotate_recovered(recovery.records)
            self._recoveries[cache_key] = recovery
        return self._recoveries[cache_key]

    def _annotate_recovered(self, records: Sequence[ServiceRecord]) -> None:
        """Give recovered records the set-wide fields live ones get (resolved image paths,
        svchost group...), against their own control set; they never enter a boot plan."""
        by_set: dict[int, list[ServiceRecord]] = {}
        for record in records:
            if record.control_set is not None:
                by_set.setdefault(record.control_set, []).append(record)
        for number, recs in by_set.items():
            key = self.control_set_key(number)
            control = read_control_data(key.subkey("Control") if key is not None else None)
            annotate_database(recs, control, self.software, in_place=True)  # fresh, unpublished records

    def deleted_services(
        self, control_set: str | int = "all", *, unattributed: bool = False, lenient: bool = False
    ) -> list[ServiceRecord]:
        """Deleted and orphaned service records of the chosen control set(s) (default: all).

        ``unattributed``: also service-like deleted keys whose parent chain is lost
        (control_set None; they are only counted otherwise).
        """
        return self.attach_files(self._deleted_services(control_set, unattributed=unattributed, lenient=lenient))

    def _deleted_services(self, control_set: str | int, *, unattributed: bool, lenient: bool) -> list[ServiceRecord]:
        try:
            resolution = self.resolve(control_set)
        except ValueError as exc:
            raise ControlSetError(str(exc)) from exc
        chosen = {c.number for c in resolution.chosen}
        recovery = self.recovery(unattributed=unattributed, lenient=lenient)
        for diag in recovery.diagnostics:
            self._note_once(diag.code, diag.message, diag.level)
        return [r for r in recovery.records if r.control_set in chosen or r.control_set is None]

    def _note_diag(self, diag: Diagnostic, where: str) -> None:
        """A set-level diagnostic of the database pass, once, with its level kept."""
        note = Diagnostic(diag.code, diag.field, f"{where}: {diag.message}", diag.level)
        if note not in self._own_diagnostics:
            self._own_diagnostics.append(note)

    def _note_once(self, code: str, message: str, level: str = "warning") -> None:
        if not any(d.code == code and d.message == message for d in self._own_diagnostics):
            self._own_diagnostics.append(Diagnostic(code, "", message, level))  # type: ignore[arg-type]

    # -- summary

    def info(self, *, recover: bool = True) -> HiveInfo:
        """The evidence file's base block (dirty or clean), its logs and their replay, the tree;
        ``recover`` also counts deleted/orphaned service keys (a full scan)."""
        base = self.primary_base or self.reader.base
        sets = tuple(self.control_sets())
        result = self._replay_for_report()
        recovered = None
        if recover:
            recovery = self.recovery()
            recovered = {status: recovery.counts.get(status, 0) for status in ("deleted", "orphaned")}
            for diag in recovery.diagnostics:
                self._note_once(diag.code, diag.message, diag.level)
        return HiveInfo(
            path=self.evidence.path,
            sha256=self.evidence.sha256,
            size=len(self.evidence.data),
            regf_version=base.version,
            file_name=base.file_name,
            dirty=base.dirty,
            primary_sequence=base.primary_sequence,
            secondary_sequence=base.secondary_sequence,
            checksum_stored=base.stored_checksum,
            checksum_computed=base.computed_checksum,
            last_written=filetime_to_iso(base.last_written) if base.last_written else None,
            last_written_filetime=base.last_written,
            computer_name=self.computer_name()[0],
            windows=self.windows_version(),
            root_name=self.reader.root().name,
            select=self.select.to_dict(),
            control_sets=sets,
            current_control_set_link=self.ccs_link,
            parser=self.reader.primary.name,
            location=dict(self.source.location),
            diagnostics=tuple(self.hive_diagnostics()),
            recovered_services=recovered,
            logs=tuple(result.log_infos()) if result is not None else (),
            log_replay=result.summary() if result is not None and result.primary_dirty else None,
        )

    def hive_diagnostics(self) -> list[Diagnostic]:
        """Everything an analyst should be warned about at the hive level."""
        diags = self.diagnostics
        base = self.primary_base or self.reader.base
        if base.dirty and not any(d.code == "hive_dirty" for d in diags):
            state = f"sequence numbers {base.primary_sequence} != {base.secondary_sequence} or checksum wrong"
            if self.log_replay is not None and self.log_replay.replayed:
                tail = "the transaction logs were replayed in memory (see log_replayed)"
            else:
                tail = "recent changes may be only in the .LOG1/.LOG2 transaction logs"
            diags.append(Diagnostic("hive_dirty", "", f"the primary file is dirty ({state}): {tail}"))
        if base.dirty and self._logs_option == "none":
            diags.append(
                Diagnostic(
                    "logs_disabled",
                    "",
                    "log replay was turned off (--no-logs): the primary file is analysed alone; "
                    "changes still in its transaction logs are missing",
                )
            )
        elif base.dirty and self._log_files is not None and not self._log_files:
            diags.append(
                Diagnostic(
                    "logs_missing",
                    "",
                    "no .LOG/.LOG1/.LOG2 file next to the hive: recent changes may be missing; "
                    "give the logs with --log FILE if they were collected elsewhere",
                )
            )
        if self.log_replay is not None:
            diags += self.log_replay.diagnostics
        return diags


def _runs_svchost(key: Key) -> bool:
    """Whether a service key's ImagePath names svchost.exe (raw bytes, any case)."""
    value = key.value("ImagePath")
    return value is not None and "svchost.exe" in value.data.decode("utf-16-le", "replace").lower()


def _peek_base_block(data: bytes) -> BaseBlock | None:
    """The base block of hive bytes, or None when there is none to read (HiveReader says why)."""
    if len(data) < BASE_BLOCK_SIZE or data[:4] != REGF_SIGNATURE:
        return None
    return parse_base_block(data)


def open_software(
    path: str | os.PathLike[str] | HiveSource, *, backend: str = "regipy-rs", max_value_bytes: int = 1 << 20
) -> SoftwareData:
    """Read what the service database needs from a SOFTWARE hive (SystemRoot, program files, svchost).

    Raises the usual HiveError subclasses; WrongHiveType when the hive is not SOFTWARE.
    """
    source = path if isinstance(path, HiveSource) else HiveSource.from_file(path)
    with HiveReader(source, backend=backend, max_value_bytes=max_value_bytes) as reader:
        root = reader.root()
        names = [k.name for k in root.subkeys()]
        if looks_like_system(names):
            raise WrongHiveType(f"{source.path}: --software needs a SOFTWARE hive; this is a SYSTEM hive")
        if not any(n.upper() == "MICROSOFT" for n in names):
            raise WrongHiveType(f"{source.path}: not a SOFTWARE hive (its root has no Microsoft key)")
        data = read_software(root, path=source.path, sha256=source.sha256)
        notes = [
            Diagnostic(
                "software_hive",
                "",
                f"SOFTWARE hive {source.path} (sha256 {source.sha256}) read for SystemRoot, program files and "
                "svchost groups",
                "info",
            )
        ]
        if reader.base.dirty:
            notes.append(
                Diagnostic(
                    "software_hive_dirty",
                    "",
                    f"SOFTWARE hive {source.path}: sequence numbers differ or checksum wrong; recent changes may be "
                    "only in its transaction logs",
                )
            )
        notes += [Diagnostic(d.code, d.field, f"SOFTWARE: {d.message}", d.level) for d in reader.diagnostics]
    return replace(data, diagnostics=tuple(notes) + data.diagnostics)


def open_hive(
    path: str | os.PathLike[str] | HiveSource,
    *,
    install: int | None = None,
    snapshot: str = "live",
    **options: Any,
) -> SystemHive:
    """Open a SYSTEM hive for analysis: a hive file, or the SYSTEM hive inside a disk image.

    For a disk image (E01, raw, VMDK, VHD(X), QCOW2; needs ``hivescan[images]``),
    ``install`` picks the Windows installation (1-based; default: the only one) and
    ``snapshot`` the copy: ``live`` (default), ``regback``, ``vss1``, ``vss2``...

    ``logs="auto" | "none" | [paths]`` (default auto): replay the transaction logs of a
    dirty hive in memory (see :class:`SystemHive`); the files are never written.

    Example::

        with hivescan.open_hive("SYSTEM") as hive:
            frame = hive.services_frame(control_set="all")

    ``software=`` a SOFTWARE hive (path, HiveSource or :func:`open_software` result) supplies
    SystemRoot, the program-files variables and the svchost groups (spec §5.1, §7.2).
    """
    from hivescan.volumes import file_source, open_folder, open_image_with_files, open_zip

    files = options.pop("files", "auto")
    if isinstance(path, HiveSource):
        return SystemHive(path, files=file_source(files, None), **options)
    if os.path.isdir(path):
        return open_folder(path, files, options)
    from hivescan.hive.images import input_kind, load_source

    kind = input_kind(path)
    if kind == "image":  # also without files (--no-files): the image's event logs are still read
        return open_image_with_files(path, install, snapshot, files, options)
    if kind == "other" and zipfile.is_zipfile(path):
        return open_zip(path, files, options)

    image_diagnostics: list[Diagnostic] = []
    image_logs: list[HiveSource] = []
    source = load_source(path, install=install, snapshot=snapshot, diagnostics=image_diagnostics, logs=image_logs)
    if image_logs and options.get("logs", "auto") == "auto":
        options["logs"] = [parse_log(log.data, log.path) for log in image_logs]
    hive = SystemHive(source, files=file_source(files, None), **options)
    hive._own_diagnostics += image_diagnostics  # encrypted/unreadable volumes, missing logs: the analyst must see them
    return hive


__all__ = ["ControlSetInfo", "HiveInfo", "SystemHive", "open_hive", "open_software", "parse_mode"]
