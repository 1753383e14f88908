"""A SYSTEM hive opened for analysis: the object the CLI and notebooks share.

``open_hive(path)`` -> :class:`SystemHive` with ``info()``, ``services()`` and
``services_frame()``. It joins the stages (hive -> control set -> service database) and
knows nothing of findings or output formats.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import ControlSetError, HiveDamaged, WrongHiveType
from hivescan.hive.kind import guess_kind, looks_like_system
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader, Key
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
from hivescan.scm.record import HiveRef, ServiceRecord
from hivescan.scm.services import build_service_database
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "last_write": self.last_write,
            "services": self.services,
            "roles": list(self.roles),
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
            "root_name": self.root_name,
            "select": self.select,
            "control_sets": [c.to_dict() for c in self.control_sets],
            "current_control_set_link": self.current_control_set_link,
            "parser": self.parser,
            "location": self.location,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


class SystemHive:
    """An open SYSTEM hive. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        source: HiveSource,
        *,
        backend: str = "regipy-rs",
        max_value_bytes: int = 1 << 20,
        require_system: bool = True,
    ) -> None:
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

    def control_sets(self) -> list[ControlSetInfo]:
        roles: dict[int, list[str]] = {}
        for role in ("current", "default", "lkg", "failed"):
            number = self.select.get(role)
            if number:
                roles.setdefault(number, []).append(role)
        out = []
        for number in self.existing.numbers:
            key = self.control_set_key(number)
            services = key.subkey("Services") if key is not None else None
            out.append(
                ControlSetInfo(
                    number,
                    self.existing.sets[number],
                    filetime_to_iso(key.last_write) if key is not None else None,
                    len(services.subkeys()) if services is not None else None,
                    tuple(roles.get(number, ())),
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

    # -- the service database

    def services(self, control_set: str | int = "current", *, lenient: bool = False) -> list[ServiceRecord]:
        """Records of every Services subkey in the chosen control set(s), in hive order.

        ``control_set``: current (default), default, lkg, failed, all, or a number.
        Raises ControlSetError when nothing can be chosen.
        """
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
            records += build_service_database(
                services,
                hive=hive,
                control_set=chosen.number,
                control_set_source=chosen.source,
                lenient=lenient,
            )
        for diag in resolution.diagnostics:
            self._note_once(diag.code, diag.message)
        return records

    def services_frame(self, control_set: str | int = "current", *, lenient: bool = False) -> pd.DataFrame:
        """The records as one typed pandas DataFrame (see :mod:`hivescan.frames`)."""
        from hivescan.frames import services_frame

        return services_frame(self.services(control_set, lenient=lenient))

    def _note_once(self, code: str, message: str) -> None:
        if not any(d.code == code and d.message == message for d in self._own_diagnostics):
            self._own_diagnostics.append(Diagnostic(code, "", message))

    # -- summary

    def info(self) -> HiveInfo:
        base = self.reader.base
        sets = tuple(self.control_sets())
        return HiveInfo(
            path=self.source.path,
            sha256=self.source.sha256,
            size=len(self.source.data),
            regf_version=base.version,
            file_name=base.file_name,
            dirty=base.dirty,
            primary_sequence=base.primary_sequence,
            secondary_sequence=base.secondary_sequence,
            checksum_stored=base.stored_checksum,
            checksum_computed=base.computed_checksum,
            last_written=filetime_to_iso(base.last_written),
            root_name=self.reader.root().name,
            select=self.select.to_dict(),
            control_sets=sets,
            current_control_set_link=self.ccs_link,
            parser=self.reader.primary.name,
            location=dict(self.source.location),
            diagnostics=tuple(self.hive_diagnostics()),
        )

    def hive_diagnostics(self) -> list[Diagnostic]:
        """Everything an analyst should be warned about at the hive level."""
        diags = self.diagnostics
        if self.reader.base.dirty and not any(d.code == "hive_dirty" for d in diags):
            base = self.reader.base
            diags.append(
                Diagnostic(
                    "hive_dirty",
                    "",
                    f"sequence numbers {base.primary_sequence} != {base.secondary_sequence} or checksum wrong: "
                    "recent changes may be only in the .LOG1/.LOG2 transaction logs",
                )
            )
        return diags


def open_hive(path: str | os.PathLike[str] | HiveSource, **options: Any) -> SystemHive:
    """Open a SYSTEM hive file for analysis.

    Example::

        with hivescan.open_hive("SYSTEM") as hive:
            frame = hive.services_frame(control_set="all")
    """
    source = path if isinstance(path, HiveSource) else HiveSource.from_file(path)
    return SystemHive(source, **options)


__all__ = ["ControlSetInfo", "HiveInfo", "SystemHive", "open_hive", "parse_mode"]
