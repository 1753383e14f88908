"""The service record: its fields, derived labels and its JSONL form (``to_dict``/``from_dict``).

A record holds raw values (integers, untruncated strings, hex of binary data), an
:class:`~hivescan.scm.provenance.Origin` saying exactly where it was read, where each field's
value came from (``sources``: registry, default or derived) and the diagnostics of its
decoding. Labels such as "auto" are derived properties, never stored in place of the number.
``to_dict`` stays on the class with the tables it reads (it runs once per record written);
how records are built fast is in hivescan/scm/record_builders.py.

References: scm-spec.md §2.3 (status), §3 (fields); style.md R3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.scm.access import PrincipalAccess
from hivescan.scm.constants import error_control_name, is_user_service, is_win32, start_name, type_name
from hivescan.scm.descriptor import sdshow_part
from hivescan.scm.failure_actions import FailureActions
from hivescan.scm.named_values import (
    delayed_auto_start_name,
    launch_protected_name,
    service_sid_type_name,
    user_service_flags_name,
)
from hivescan.scm.provenance import HiveRef, Origin
from hivescan.scm.rawvalue_json import raw_value_map, raw_values_from_map
from hivescan.scm.security import key_security_hex, service_security_hex
from hivescan.scm.triggers import Trigger
from hivescan.timeutil import filetime_to_iso

Status = Literal["database", "pending_delete", "rejected", "deleted", "orphaned", "event_only"]
Source = Literal["registry", "default", "derived"]


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """One subkey of ``Services`` in one control set, as the SCM would see it at boot."""

    name: str
    status: Status
    origin: Origin
    reject_reason: str | None = None
    control_set_source: str | None = None  # how the set was chosen: current, default (fallback ...), all, ...

    # core configuration (QueryServiceConfig, spec §3.1)
    type: int | None = None
    start: int | None = None
    error_control: int | None = None
    tag: int | None = None
    image_path: str | None = None  # the effective string, untruncated
    image_path_type: str | None = None  # REG_EXPAND_SZ, REG_SZ, ...
    object_name: str | None = None
    display_name: str | None = None
    description: str | None = None
    group: str | None = None
    depend_on_service: tuple[str, ...] = ()
    depend_on_group: tuple[str, ...] = ()

    # svchost hosting (spec §7.3)
    service_dll: str | None = None  # the effective ServiceDll
    service_dll_source: str | None = None  # parameters | key | template
    service_dll_type: str | None = None
    service_main: str | None = None
    service_dll_unload_on_stop: int | None = None
    service_manifest: str | None = None

    # optional configuration (QueryServiceConfig2, spec §3.2-3.3)
    failure_command: str | None = None
    reboot_message: str | None = None
    failure_actions_hex: str | None = None  # raw FailureActions bytes (decoded by scm.failure_actions)
    failure_actions_on_non_crash: int | None = None
    delayed_auto_start: int | None = None
    service_sid_type: int | None = None
    required_privileges: tuple[str, ...] = ()
    preshutdown_timeout_ms: int | None = None
    launch_protected: int | None = None
    user_service_flags: int | None = None
    svchost_split_disable: int | None = None
    security_hex: str | None = None  # raw Security\Security descriptor
    triggers_raw: tuple[Mapping[str, Any], ...] = ()  # TriggerInfo\N: {subkey, last_write, values: RawValue...}
    delete_flag: int | None = None

    # the key itself
    subkey_names: tuple[str, ...] = ()
    subkey_last_writes: Mapping[str, int] = field(
        default_factory=dict
    )  # FILETIMEs of Parameters, Security, TriggerInfo\N
    raw_values: tuple[RawValue, ...] = ()  # every value of the key, exact bytes
    parameters_raw: tuple[RawValue, ...] = ()  # every value of Parameters
    key_security_hex: str | None = None  # the service key's own registry security (sk cell)

    # deleted services (hivescan/scm/deleted.py): set on records rebuilt from free or orphaned cells only
    recovery_confidence: str | None = None  # high | medium | low
    recovery_reasons: tuple[str, ...] = ()  # the checks behind the confidence, passed and failed
    recovery_cell_offset: int | None = None  # the nk cell the record was rebuilt from (hive-bins relative)
    recovered_status: str | None = None  # the status the key would have had if it were live
    differs_from_live: tuple[str, ...] = ()  # fields that differ from the live key of the same name

    # transaction-log replay (issue 4; hive/logs/, scm/logdiff.py): JSONL names of the fields
    # the replay changed against the primary file alone; ("new",) for a key only in the logs
    log_replay_changes: tuple[str, ...] = ()

    # event logs (issue 15; hivescan/events/join.py, a pass after the database is built):
    # the service's events (event_id, time, kind, image_path, record_id, ...) and the facts
    # the join derived from them for rules (live_in_hive, installed_image_path, ...)
    service_events: tuple[Mapping[str, Any], ...] = ()
    event_facts: Mapping[str, Any] = field(default_factory=dict)

    # derived from the whole control set (scm/database.py): image paths (spec §5), boot plan
    # (§6), svchost (§7), per-user services (§8)
    image_path_expanded: str | None = None  # Win32: after %VAR% expansion (REG_EXPAND_SZ only); drivers: as stored
    image_path_resolved: str | None = None  # DOS path of the module that would load; None when not knowable
    image_path_nt: str | None = None  # drivers: the NT path the kernel opens
    image_path_source: str | None = None  # registry | default (driver without ImagePath); None: no ImagePath
    image_args: str | None = None  # Win32: command-line arguments after the module
    image_candidates: tuple[str, ...] = ()  # other paths Windows might load, in the order it tries them
    unquoted_path_risk: bool = False  # an earlier CreateProcess candidate could be planted
    env_vars: tuple[tuple[str, bool], ...] = ()  # (%VAR% used by ImagePath/ServiceDll, known); JSON: {name: known}
    service_dll_expanded: str | None = None
    svchost_group: str | None = None  # -k group of an svchost-hosted service
    svchost_switches: tuple[str, ...] = ()  # other svchost arguments (-p, ...)
    svchost_listed: bool | None = None  # named in SOFTWARE ...\Svchost\<group>; None when unknown
    group_known: bool | None = None  # Group is in ServiceGroupOrder\List; None without Group
    group_order_index: int | None = None
    tag_order_index: int | None = None  # position of Tag in the group's GroupOrderList vector
    dependents: tuple[str, ...] = ()  # database records that depend on this one
    dependency_closure: tuple[str, ...] = ()  # everything this one needs started first, dependencies first
    load_phase: str | None = None  # boot, system, auto, delayed_auto, trigger; None: not started at boot
    order_key: int | None = None  # position in the boot plan of its control set (1 = first)
    pulled_in_by: tuple[str, ...] = ()  # started services that need this (not auto-start) one
    user_instance_luid: str | None = None  # per-user instance: the hex suffix of its name
    template: str | None = None  # per-user instance: its template's name
    user_instances: tuple[str, ...] = ()  # per-user template: its instances

    # -- decoded binary and named values (topic: decoders; spec §3.2, §4.1, §4.4); the security
    # descriptors (§4.3) are derived from security_hex / key_security_hex: see the properties below
    failure_actions: FailureActions | None = None  # FailureActions + FailureCommand/RebootMessage
    triggers: tuple[Trigger, ...] = ()  # TriggerInfo\N, numerically sorted

    # -- the binaries (topic: files): facts of the files image_path_resolved and
    # service_dll_expanded name, read from a folder or disk image (hivescan.files.facts);
    # None when the input holds no files (a bare hive) or files were turned off
    image_file: Mapping[str, Any] | None = None
    service_dll_file: Mapping[str, Any] | None = None

    sources: Mapping[str, Source] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    # -- derived labels (never stored in place of the numbers)

    @property
    def type_name(self) -> str | None:
        return type_name(self.type)

    @property
    def start_name(self) -> str | None:
        return start_name(self.start)

    @property
    def error_control_name(self) -> str | None:
        return error_control_name(self.error_control)

    # -- security descriptors, derived from the raw bytes (topic: decoders; spec §4.3). Decoding
    # (and its diagnostics) happens when the record is built; the renderings are memoized.

    @property
    def security_sddl(self) -> str | None:
        """``Security\\Security`` as SDDL; None when absent or invalid."""
        return service_security_hex(self.security_hex).sddl if self.security_hex is not None else None

    @property
    def security_sdshow(self) -> str | None:
        """The descriptor as ``sc sdshow`` prints it (DACL and SACL only)."""
        sddl = self.security_sddl
        return sdshow_part(sddl) if sddl is not None else None

    @property
    def security_access(self) -> tuple[PrincipalAccess, ...]:
        """Per principal of the descriptor's DACL: the service rights it holds and is denied."""
        return service_security_hex(self.security_hex).access if self.security_hex is not None else ()

    @property
    def default_sd_applies(self) -> bool | None:
        """Win32/user records without a valid descriptor get the SCM's default one (None: not applicable)."""
        if self.status == "rejected" or not (is_win32(self.type) or is_user_service(self.type)):
            return None
        return self.security_hex is None or not service_security_hex(self.security_hex).valid

    @property
    def key_security_sddl(self) -> str | None:
        """The key's own registry security (sk cell) as SDDL; None when unreadable or invalid."""
        return key_security_hex(self.key_security_hex).sddl if self.key_security_hex is not None else None

    @property
    def key_writable_by(self) -> tuple[str, ...]:
        """Non-admin principals that may change the key's values or subkeys (T1574.011)."""
        return key_security_hex(self.key_security_hex).writable_by if self.key_security_hex is not None else ()

    @property
    def key_writable_by_low_privilege(self) -> bool | None:
        """One of them stands for any user (WD, AU, BU, IU ...); None when the key security is unknown."""
        if self.key_security_hex is None:
            return None
        decoded = key_security_hex(self.key_security_hex)
        return decoded.writable_by_low_privilege if decoded.valid else None

    @property
    def service_sid_type_name(self) -> str | None:
        return service_sid_type_name(self.service_sid_type)

    @property
    def launch_protected_name(self) -> str | None:
        return launch_protected_name(self.launch_protected)

    @property
    def user_service_flags_name(self) -> str | None:
        return user_service_flags_name(self.user_service_flags)

    @property
    def delayed_auto_start_name(self) -> str | None:
        return delayed_auto_start_name(self.delayed_auto_start)

    @property
    def pending_delete(self) -> bool:
        return self.status == "pending_delete"

    @property
    def control_set(self) -> int | None:
        return self.origin.control_set

    @property
    def key_path(self) -> str:
        return self.origin.key_path

    @property
    def last_write(self) -> str | None:
        return self.origin.last_write

    @property
    def diagnostic_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        """One flat, JSON-ready mapping; provenance fields under their JSONL names."""
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "reject_reason": self.reject_reason,
            "control_set": self.origin.control_set,
            "control_set_source": self.control_set_source,
            "key_path": self.origin.key_path,
            "last_write": self.origin.last_write,
            "last_write_filetime": self.origin.last_write_filetime,
            "hive_path": self.origin.hive_path,
            "hive_sha256": self.origin.hive_sha256,
            "parser": self.origin.parser,
            "changed_by_log_replay": self.origin.from_log,
            "type": self.type,
            "type_name": self.type_name,
            "start": self.start,
            "start_name": self.start_name,
            "error_control": self.error_control,
            "error_control_name": self.error_control_name,
        }
        # every plain field in one C-level getter call; most need no conversion (nor a slow ABC check)
        values = [v if v is None or type(v) in _SCALARS else _plain_value(v) for v in _LOOP_GET(self)]
        out.update(zip(LOOP_FIELDS, values, strict=True))
        out["triggers_raw"] = [
            {
                **{k: v for k, v in t.items() if k != "values"},
                "last_write": filetime_to_iso(t.get("last_write_filetime")),
                "values": raw_value_map(t.get("values", ())),
            }
            for t in self.triggers_raw
        ]
        out["env_vars"] = dict(self.env_vars)
        out["subkey_last_writes"] = {k: filetime_to_iso(v) for k, v in self.subkey_last_writes.items()}
        out["subkey_last_writes_filetime"] = dict(self.subkey_last_writes)
        out["raw_values"] = raw_value_map(self.raw_values)
        out["parameters_raw"] = raw_value_map(self.parameters_raw)
        # decoded values (topic: decoders)
        out["failure_actions"] = self.failure_actions.to_dict() if self.failure_actions is not None else None
        out["triggers"] = [t.to_dict() for t in self.triggers]
        for label in _DERIVED_SECURITY:
            out[label] = getattr(self, label)
        out["security_access"] = [p.to_dict() for p in self.security_access]
        out["key_writable_by"] = list(self.key_writable_by)
        for label in _NAMED_VALUES:
            out[label] = getattr(self, label)
        if self.origin.location:
            out["location"] = dict(self.origin.location)
        out["sources"] = dict(self.sources)
        out["diagnostics"] = [d.to_dict() for d in self.diagnostics]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceRecord:
        """Rebuild a record from :meth:`to_dict` output (JSONL, Parquet baselines)."""
        origin = Origin(
            hive=HiveRef(data.get("hive_path") or "", data.get("hive_sha256") or "", data.get("location") or {}),
            control_set=data.get("control_set"),
            key_path=data.get("key_path") or "",
            last_write_filetime=int(data.get("last_write_filetime") or 0),
            parser=data.get("parser") or "",
            from_log=bool(data.get("changed_by_log_replay", False)),
        )
        kwargs: dict[str, Any] = {}
        for key in PLAIN_FIELDS:
            if key not in data:
                continue
            value = data[key]
            if key in _TUPLE_FIELDS:
                value = tuple(value or ())
            kwargs[key] = value
        kwargs["env_vars"] = tuple((str(k), bool(v)) for k, v in dict(data.get("env_vars") or {}).items())
        kwargs["subkey_last_writes"] = dict(data.get("subkey_last_writes_filetime") or {})
        kwargs["raw_values"] = raw_values_from_map(data.get("raw_values") or {})
        kwargs["parameters_raw"] = raw_values_from_map(data.get("parameters_raw") or {})
        kwargs["triggers_raw"] = tuple(
            {
                **{k: v for k, v in t.items() if k not in ("values", "last_write")},
                "values": raw_values_from_map(t.get("values") or {}),
            }
            for t in data.get("triggers_raw") or ()
        )
        # decoded values (topic: decoders)
        failure_actions = data.get("failure_actions")
        kwargs["failure_actions"] = FailureActions.from_dict(failure_actions) if failure_actions else None
        kwargs["triggers"] = tuple(Trigger.from_dict(t) for t in data.get("triggers") or ())
        kwargs["sources"] = dict(data.get("sources") or {})
        kwargs["diagnostics"] = tuple(Diagnostic.from_dict(d) for d in data.get("diagnostics") or ())
        return cls(origin=origin, **kwargs)


_DECODED = {"failure_actions", "triggers"}  # nested decoded values (topic: decoders)
_DERIVED_SECURITY = (
    "security_sddl",
    "security_sdshow",
    "default_sd_applies",
    "key_security_sddl",
    "key_writable_by_low_privilege",
)
_NAMED_VALUES = ("service_sid_type_name", "launch_protected_name", "user_service_flags_name", "delayed_auto_start_name")
_SPECIAL = {"origin", "diagnostics", "sources", "raw_values", "parameters_raw", "triggers_raw", "subkey_last_writes"}
_SPECIAL |= _DECODED
PLAIN_FIELDS = tuple(f.name for f in fields(ServiceRecord) if f.name not in _SPECIAL)
#: the plain fields ``to_dict`` copies in its loop (the first few are placed before it)
LOOP_FIELDS = tuple(
    f
    for f in PLAIN_FIELDS
    if f not in ("name", "status", "reject_reason", "control_set_source", "type", "start", "error_control")
)
_SCALARS = frozenset({str, int, bool})
_LOOP_GET = attrgetter(*LOOP_FIELDS)


def _plain_value(value: Any) -> Any:
    """A field value as JSON-ready data: tuples -> lists, mappings -> dicts, the rest as is."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


_TUPLE_FIELDS = frozenset(f.name for f in fields(ServiceRecord) if f.default == ())


__all__ = ["LOOP_FIELDS", "PLAIN_FIELDS", "ServiceRecord", "Source", "Status"]
