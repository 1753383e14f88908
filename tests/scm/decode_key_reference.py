"""The record builder's key decoder as it was before the one-pass rewrite (main 7db256b).

Kept only as the reference the tests compare ``hivescan.scm.keyfields.decode_key`` with:
the rewrite must give the very same fields, in the same order, with the very same
diagnostics (code, field, message, severity, order). Not used by hivescan itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import decode_utf16
from hivescan.hive.model import KeyView, RawValue
from hivescan.hive.regtypes import REG_DWORD, REG_EXPAND_SZ, reg_type_name
from hivescan.scm.constants import (
    ACCEPTED_TYPES,
    SERVICE_PKG_SERVICE,
    WIN32_TYPES,
)
from hivescan.scm.decode import STRING_TYPES, decode_binary, decode_dword, decode_multi_sz, decode_string
from hivescan.scm.failure_actions import FailureActions, decode_failure_actions
from hivescan.scm.keychecks import classify
from hivescan.scm.keychecks import flag_anomalies as _flag_anomalies
from hivescan.scm.keyfields import _BINARY_FIELDS, _DWORD_FIELDS, _MULTI_FIELDS, _STRING_FIELDS
from hivescan.scm.keyfields import subkey_last_writes as _subkey_last_writes
from hivescan.scm.keyfields import triggers_raw as _triggers_raw
from hivescan.scm.named_values import check_named_values
from hivescan.scm.record import Source
from hivescan.scm.security import key_security_hex, service_security
from hivescan.scm.triggers import Trigger, decode_triggers
from hivescan.textsafe import quoted

# the value tables and the record-level checks are the project's own (unchanged by the rewrite)
_DWORD, _STRING, _MULTI, _BINARY = range(4)
# every field value by upper-case name: (how it is read, record field), one look-up a value
_FIELDS: dict[str, tuple[int, str]] = {
    **{name: (_DWORD, target) for name, target in _DWORD_FIELDS.items()},
    **{name: (_STRING, target) for name, target in _STRING_FIELDS.items()},
    **{name: (_MULTI, target) for name, target in _MULTI_FIELDS.items()},
    **{name: (_BINARY, target) for name, target in _BINARY_FIELDS.items()},
}


class _Values:
    """Case-insensitive view of one key's values that collects decoding diagnostics."""

    def __init__(self, by_name: Mapping[str, RawValue], diags: list[Diagnostic], prefix: str = "") -> None:
        self.by_name = by_name  # KeyView.values_by_name(): the first of names alike (ci)
        self.diags = diags
        self.prefix = prefix

    def raw(self, name: str) -> RawValue | None:
        return self.by_name.get(name.upper())

    def dword(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        number, diags = decode_dword(self.prefix + name, value)
        self.diags += diags
        return number

    def string(self, name: str) -> tuple[str | None, int | None]:
        """(effective text, registry type number)."""
        value = self.raw(name)
        if value is None:
            return None, None
        decoded, diags = decode_string(self.prefix + name, value)
        self.diags += diags
        return decoded.value, value.type

    def multi(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return ()
        decoded, diags = decode_multi_sz(self.prefix + name, value)
        self.diags += diags
        return decoded.items

    def binary_hex(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        data, diags = decode_binary(self.prefix + name, value)
        self.diags += diags
        return data.hex()


def _delete_flag(values: _Values) -> tuple[bool, int | None]:
    """ROS's ScmIsDeleteFlagSet: any type, readable into 4 bytes; the data is ignored."""
    raw = values.raw("DeleteFlag")
    if raw is None:
        return False, None
    if len(raw.data) > 4:
        values.diags.append(
            Diagnostic(
                "delete_flag_unreadable",
                "DeleteFlag",
                f"DeleteFlag holds {len(raw.data)} bytes; the SCM's 4-byte read fails, so it is not honoured",
            )
        )
        return False, None
    return True, int.from_bytes(raw.data.ljust(4, b"\0"), "little")


def reference_decode_key(
    key: KeyView,
    subkeys: Sequence[KeyView],
    values_list: Sequence[RawValue],
    special: Mapping[str, KeyView],
    trigger_subs: Sequence[KeyView],
    key_hex: str | None,
    lenient: bool,
    status_override: str | None,
) -> dict[str, Any]:
    """The record's fields but its origin and control-set source, from what the key holds."""
    diags: list[Diagnostic] = []
    sources: dict[str, Source] = {}
    vals = _Values(key.values_by_name(), diags)
    name = key.name

    # one pass over the values present: decode each known one the way the SCM reads it; the
    # clean DWORD and string (the decoders' own first test, inlined: ~2 us a value less)
    f: dict[str, Any] = {}
    image_path_type: int | None = None
    for upper, value in vals.by_name.items():
        known = _FIELDS.get(upper)
        if known is None:
            continue
        kind, target = known
        if kind == _DWORD:
            data = value.data
            if value.type == REG_DWORD and len(data) == 4 and value.exact:
                f[target] = int.from_bytes(data, "little")
                continue
            f[target], more = decode_dword(value.name, value)
        elif kind == _STRING:
            sources[target] = "registry"
            if target == "image_path":
                image_path_type = value.type
            data = value.data
            if value.type in STRING_TYPES and value.exact and not len(data) % 2 and data.endswith(b"\0\0"):
                text = decode_utf16(data[:-2])
                if text.isascii() and "\0" not in text:
                    f[target] = text
                    continue
            decoded, more = decode_string(value.name, value)
            f[target] = decoded.value
        elif kind == _MULTI:
            multi, more = decode_multi_sz(value.name, value)
            f[target] = multi.items
        else:
            binary, more = decode_binary(value.name, value)
            f[target] = binary.hex()
        if more:
            diags += more

    type_ = f.get("type")
    start = f.get("start")
    error_control = f.get("error_control")
    status, reason = classify(name, type_, start, error_control, lenient)
    base_type = None if type_ is None else type_ & ~SERVICE_PKG_SERVICE
    accepted = base_type in ACCEPTED_TYPES

    if lenient and error_control is None and status == "database":
        error_control = 1
        sources["error_control"] = "default"
        diags.append(Diagnostic("error_control_defaulted", "ErrorControl", "missing; --lenient assumed 1 (normal)"))
    if reason == "brace_name" and accepted:
        diags.append(Diagnostic("brace_name_with_type", "name", "a '{' key carries an accepted Type: anomalous"))
    if status == "rejected" and reason != "bad_type" and accepted:
        diags.append(Diagnostic("rejected_typed_key", "Type", f"rejected ({reason}) although its Type is accepted"))
    if type_ is not None and type_ & SERVICE_PKG_SERVICE and accepted:
        diags.append(Diagnostic("packaged_service", "Type", "SERVICE_PKG_SERVICE bit set (heuristic)", "info"))

    delete_present, delete_value = _delete_flag(vals)
    if delete_present and status == "database":
        status = "pending_delete"
    if status_override is not None:
        status = status_override  # type: ignore[assignment]

    object_name = f.get("object_name")
    display_name = f.get("display_name")
    if display_name is None:
        display_name = name
        sources["display_name"] = "default"
    elif display_name == "":
        diags.append(Diagnostic("empty_display_name", "DisplayName", "DisplayName is an empty string", "info"))
    if object_name is None and accepted:
        if base_type in WIN32_TYPES:
            object_name = "LocalSystem"
            sources["object_name"] = "default"
        elif base_type == 0x1:
            object_name = f"\\Driver\\{name}"
            sources["object_name"] = "default"
        elif base_type in (0x2, 0x8):
            object_name = f"\\FileSystem\\{name}"
            sources["object_name"] = "default"

    # svchost hosting: Parameters wins when the subkey exists, whatever it holds (§7.3)
    params = special.get("PARAMETERS")
    dll_holder = _Values(params.values_by_name(), diags, "Parameters\\") if params is not None else vals
    service_dll, service_dll_type = dll_holder.string("ServiceDll")
    service_dll_source = None
    if service_dll is not None:
        service_dll_source = "parameters" if params is not None else "key"
        sources["service_dll"] = "registry"
    if params is not None and vals.raw("ServiceDll") is not None:
        key_level, _ = vals.string("ServiceDll")
        diags.append(
            Diagnostic(
                "service_dll_conflict",
                "ServiceDll",
                f"ServiceDll also at key level ({quoted(key_level)}); ignored because a Parameters subkey exists",
                "info" if key_level == service_dll else "warning",
            )
        )
    if service_dll is not None and service_dll_type != REG_EXPAND_SZ:
        diags.append(
            Diagnostic(
                "service_dll_wrong_type", "ServiceDll", f"stored as {reg_type_name(service_dll_type or 0)}", "info"
            )
        )
    service_main, _ = dll_holder.string("ServiceMain")
    unload_on_stop = dll_holder.dword("ServiceDllUnloadOnStop")
    manifest, _ = dll_holder.string("ServiceManifest")

    depend_on_service = f.get("depend_on_service", ())
    if depend_on_service and any(item.startswith("+") for item in depend_on_service):
        diags.append(
            Diagnostic("group_in_depend_on_service", "DependOnService", "a '+group' entry stored in DependOnService")
        )

    security_key = special.get("SECURITY")
    security_hex = None
    security_raw = None
    if security_key is not None:
        sec_vals = _Values(security_key.values_by_name(), diags, "Security\\")
        security_hex = sec_vals.binary_hex("Security")
        security_raw = sec_vals.raw("Security")

    trigger_key = special.get("TRIGGERINFO")
    triggers = _triggers_raw(trigger_subs)
    for sub in trigger_subs:
        diags += sub.diagnostics

    _flag_anomalies(name, type_, base_type, start, error_control, object_name, display_name, sources, key, diags)

    for holder in (params, security_key, trigger_key):
        if holder is not None:
            diags += holder.diagnostics
    decoded_values = _decode_values(
        vals,
        f,
        security_raw.data if security_raw is not None else None,
        key_hex,
        triggers,
        diags,
    )
    diags = list(key.diagnostics) + diags  # reading trouble first, then decoding notes

    # Only fields that hold something are passed: a frozen dataclass with ~50 keyword
    # arguments costs three times as much to build, and this runs once per service.
    out: dict[str, Any] = {k: v for k, v in f.items() if v is not None and v != ()}
    out["type"], out["start"], out["error_control"] = type_, start, error_control
    if image_path_type is not None:
        out["image_path_type"] = reg_type_name(image_path_type)
    if object_name is not None:
        out["object_name"] = object_name
    out["display_name"] = display_name
    if service_dll is not None:
        out["service_dll"], out["service_dll_source"] = service_dll, service_dll_source
    if service_dll_type is not None:
        out["service_dll_type"] = reg_type_name(service_dll_type)
    for field_name, present in (
        ("service_main", service_main),
        ("service_dll_unload_on_stop", unload_on_stop),
        ("service_manifest", manifest),
        ("security_hex", security_hex),
        ("delete_flag", delete_value),
        ("key_security_hex", key_hex),
    ):
        if present is not None:
            out[field_name] = present
    if triggers:
        out["triggers_raw"] = triggers
    for field_name, present in decoded_values.items():
        if present is not None and present != ():
            out[field_name] = present
    if subkeys:
        out["subkey_names"] = tuple([s.name for s in subkeys])
        out["subkey_last_writes"] = _subkey_last_writes(special, trigger_subs)
    if values_list:
        out["raw_values"] = tuple(values_list)
    if params is not None:
        out["parameters_raw"] = tuple(params.values())
    out["name"], out["status"], out["reject_reason"] = name, status, reason
    out["sources"], out["diagnostics"] = sources, tuple(diags)
    return out


def _decode_values(
    vals: _Values,
    f: Mapping[str, Any],
    security: bytes | None,
    key_hex: str | None,
    triggers_raw: tuple[Mapping[str, Any], ...],
    diags: list[Diagnostic],
) -> dict[str, Any]:
    """Fields decoded from binary and enumerated values (spec §3.2, §4.1, §4.3, §4.4).

    The descriptor and FailureActions decoders are memoized by their bytes, so the
    descriptors shared by hundreds of services are decoded once per process.
    """
    out: dict[str, Any] = {}
    failure_raw = vals.raw("FailureActions")
    failure_actions: FailureActions | None = None
    if failure_raw is not None:
        failure_actions, more = decode_failure_actions(
            failure_raw.data,
            command=f.get("failure_command"),
            reboot_message=f.get("reboot_message"),
            on_non_crash_failures=f.get("failure_actions_on_non_crash"),
        )
        diags += more
    out["failure_actions"] = failure_actions
    triggers: tuple[Trigger, ...] = ()
    if triggers_raw:
        triggers, more = decode_triggers(triggers_raw)
        diags += more
    out["triggers"] = triggers
    # descriptors: parsed now for their diagnostics (memoized by bytes); the record derives
    # SDDL and access from its raw hex through the same memo
    if security is not None:
        diags += service_security(security).diagnostics
    if key_hex is not None:  # by the hex text: the same text object for every key sharing the sk cell
        diags += key_security_hex(key_hex).diagnostics
    if not _NAMED_KEYS.isdisjoint(f):
        diags += check_named_values(
            type_=f.get("type"),
            start=f.get("start"),
            service_sid_type=f.get("service_sid_type"),
            launch_protected=f.get("launch_protected"),
            user_service_flags=f.get("user_service_flags"),
            delayed_auto_start=f.get("delayed_auto_start"),
            required_privileges=f.get("required_privileges", ()),
        )
    return out


_NAMED_KEYS = frozenset(
    {"service_sid_type", "launch_protected", "user_service_flags", "delayed_auto_start", "required_privileges"}
)
