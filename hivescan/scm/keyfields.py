"""The fields of one service key, decoded the way the SCM reads them (spec §3, §7.3, §9.2).

:func:`decode_key` turns what a key holds (its values, Parameters, Security and TriggerInfo
subkeys, its descriptor) into the record's fields and diagnostics; it never sees where the key
came from, so live, recovered and memoized keys are decoded by the same rules.
"""

from __future__ import annotations

from codecs import utf_16_le_decode as _utf16_le_decode
from collections.abc import Mapping, Sequence
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import decode_utf16
from hivescan.hive.model import KeyView, RawValue
from hivescan.hive.regtypes import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, reg_type_name
from hivescan.scm.constants import (
    ACCEPTED_TYPES,
    DRIVER_TYPES,
    SERVICE_INTERACTIVE_PROCESS,
    SERVICE_PKG_SERVICE,
    WIN32_TYPES,
)
from hivescan.scm.decode import STRING_TYPES, decode_binary, decode_dword, decode_multi_sz, decode_string
from hivescan.scm.failure_actions import decode_failure_actions
from hivescan.scm.keychecks import MAX_API_NAME, classify, flag_anomalies
from hivescan.scm.named_values import check_named_values
from hivescan.scm.record import Source
from hivescan.scm.security import key_security_hex, service_security
from hivescan.scm.triggers import decode_triggers
from hivescan.textsafe import quoted

# value name (upper case) -> record field, by how the SCM reads it (spec §3.1-3.3)
_DWORD_FIELDS = {
    "TYPE": "type",
    "START": "start",
    "ERRORCONTROL": "error_control",
    "TAG": "tag",
    "FAILUREACTIONSONNONCRASHFAILURES": "failure_actions_on_non_crash",
    "DELAYEDAUTOSTART": "delayed_auto_start",
    "SERVICESIDTYPE": "service_sid_type",
    "PRESHUTDOWNTIMEOUT": "preshutdown_timeout_ms",
    "LAUNCHPROTECTED": "launch_protected",
    "USERSERVICEFLAGS": "user_service_flags",
    "SVCHOSTSPLITDISABLE": "svchost_split_disable",
}
_STRING_FIELDS = {
    "IMAGEPATH": "image_path",
    "OBJECTNAME": "object_name",
    "DISPLAYNAME": "display_name",
    "DESCRIPTION": "description",
    "GROUP": "group",
    "FAILURECOMMAND": "failure_command",
    "REBOOTMESSAGE": "reboot_message",
}
_MULTI_FIELDS = {
    "DEPENDONSERVICE": "depend_on_service",
    "DEPENDONGROUP": "depend_on_group",
    "REQUIREDPRIVILEGES": "required_privileges",
}
_BINARY_FIELDS = {"FAILUREACTIONS": "failure_actions_hex"}
_DWORD, _STRING, _MULTI, _BINARY, _LATER = range(5)
_new_tuple = tuple.__new__  # a NamedTuple without its Python-level __new__ (every field given)
# every value the decoder reads by upper-case name: (how it is read, record field), one
# look-up a value. _LATER values (DeleteFlag, ServiceDll and its companions at key level) are
# only noted in the pass and read afterwards, where their diagnostics belong.
_FIELDS: dict[str, tuple[int, str]] = {
    **{name: (_DWORD, target) for name, target in _DWORD_FIELDS.items()},
    **{name: (_STRING, target) for name, target in _STRING_FIELDS.items()},
    **{name: (_MULTI, target) for name, target in _MULTI_FIELDS.items()},
    **{name: (_BINARY, target) for name, target in _BINARY_FIELDS.items()},
    **{
        name: (_LATER, name)
        for name in ("DELETEFLAG", "SERVICEDLL", "SERVICEMAIN", "SERVICEDLLUNLOADONSTOP", "SERVICEMANIFEST")
    },
}


def _text(field: str, value: RawValue, diags: list[Diagnostic]) -> str:
    """:func:`decode_string`'s effective text, its notes added to ``diags``; the clean case inline."""
    data = value.data
    if value.type in STRING_TYPES and value.exact and not len(data) % 2 and data.endswith(b"\0\0"):
        text = decode_utf16(data[:-2])
        if text.isascii() and "\0" not in text:
            return text
    decoded, more = decode_string(field, value)
    if more:
        diags += more
    return decoded.value


def _dword(field: str, value: RawValue, diags: list[Diagnostic]) -> int | None:
    """:func:`decode_dword`'s number, its notes added to ``diags``."""
    number, more = decode_dword(field, value)
    if more:
        diags += more
    return number


def _delete_flag(raw: RawValue, diags: list[Diagnostic]) -> int | None:
    """ROS's ScmIsDeleteFlagSet: any type, readable into 4 bytes; the data is ignored.
    The number the flag holds, or None when the SCM's read fails (not honoured)."""
    if len(raw.data) > 4:
        diags.append(
            Diagnostic(
                "delete_flag_unreadable",
                "DeleteFlag",
                f"DeleteFlag holds {len(raw.data)} bytes; the SCM's 4-byte read fails, so it is not honoured",
            )
        )
        return None
    return int.from_bytes(raw.data.ljust(4, b"\0"), "little")


def subkey_last_writes(special: Mapping[str, KeyView], trigger_subs: Sequence[KeyView]) -> dict[str, int]:
    out = {sub.name: sub.last_write for sub in special.values()}
    for sub in trigger_subs:
        out[f"TriggerInfo\\{sub.name}"] = sub.last_write
    return out


def triggers_raw(trigger_subs: Sequence[KeyView]) -> tuple[dict[str, Any], ...]:
    return tuple(
        [
            {"subkey": sub.name, "last_write_filetime": sub.last_write, "values": tuple(sub.values())}
            for sub in trigger_subs
        ]
    )


def decode_key(
    key: KeyView,
    subkeys: Sequence[KeyView],
    values_list: Sequence[RawValue],
    special: Mapping[str, KeyView],
    trigger_subs: Sequence[KeyView],
    key_hex: str | None,
    lenient: bool,
    status_override: str | None,
) -> dict[str, Any]:
    """The record's fields but its origin and control-set source, from what the key holds.

    One pass over the values present fills the record's fields directly (a field that reads
    as None or an empty list is left out, as the record's default says the same) and notes
    the values read later; the clean DWORD and string are read inline (the decoders' own
    first test: ~2 us a value less). Diagnostics come in a fixed order: the fields' notes
    in value order, then the record's own checks (see the steps below).
    """
    diags: list[Diagnostic] = []
    sources: dict[str, Source] = {}
    name = key.name
    out: dict[str, Any] = {}
    image_path_type: int | None = None
    failure_raw: RawValue | None = None
    later: dict[str, RawValue] = {}
    for upper, value in key.values_by_name().items():
        known = _FIELDS.get(upper)
        if known is None:
            continue
        kind, target = known
        value_name, value_type, data, _, exact, _ = value  # a RawValue's fields, unpacked at once
        if kind == _DWORD:
            if value_type == REG_DWORD and exact and len(data) == 4:
                out[target] = int.from_bytes(data, "little")
            else:
                number = _dword(value_name, value, diags)
                if number is not None:
                    out[target] = number
        elif kind == _STRING:
            sources[target] = "registry"
            if target == "image_path":
                image_path_type = value_type
            if value_type in STRING_TYPES and exact and not len(data) % 2 and data.endswith(b"\0\0"):
                text = _utf16_le_decode(data[:-2], "surrogatepass", True)[0]  # decode_utf16, inline
                if text.isascii() and "\0" not in text:
                    out[target] = text
                    continue
            out[target] = _text(value_name, value, diags)
        elif kind == _MULTI:
            if value_type == REG_MULTI_SZ and exact and not len(data) % 2 and data.endswith(b"\0\0\0\0"):
                text = _utf16_le_decode(data[:-4], "surrogatepass", True)[0]
                if text.isascii() and "\0\0" not in text and not text.startswith("\0"):
                    if text:  # decode_multi_sz's clean case, inline
                        out[target] = tuple(text.split("\0"))
                    continue
            multi, more = decode_multi_sz(value_name, value)
            if multi.items:
                out[target] = multi.items
            if more:
                diags += more
        elif kind == _BINARY:  # FailureActions, decoded with the values stored beside it below
            failure_raw = value
            binary, more = decode_binary(value.name, value)
            out[target] = binary.hex()
            if more:
                diags += more
        else:
            later[target] = value

    type_ = out.get("type")
    start = out.get("start")
    error_control = out.get("error_control")
    status, reason = classify(name, type_, start, error_control, lenient)
    base_type = None if type_ is None else type_ & ~SERVICE_PKG_SERVICE
    accepted = base_type in ACCEPTED_TYPES

    if lenient and error_control is None and status == "database":
        error_control = 1
        sources["error_control"] = "default"
        diags.append(Diagnostic("error_control_defaulted", "ErrorControl", "missing; --lenient assumed 1 (normal)"))
    if status == "rejected" and accepted:
        if reason == "brace_name":
            diags.append(Diagnostic("brace_name_with_type", "name", "a '{' key carries an accepted Type: anomalous"))
        diags.append(Diagnostic("rejected_typed_key", "Type", f"rejected ({reason}) although its Type is accepted"))
    if accepted and base_type != type_:  # the SERVICE_PKG_SERVICE bit set
        diags.append(Diagnostic("packaged_service", "Type", "SERVICE_PKG_SERVICE bit set (heuristic)", "info"))

    delete_value = None
    if later:
        delete_raw = later.get("DELETEFLAG")
        if delete_raw is not None:
            delete_value = _delete_flag(delete_raw, diags)
            if delete_value is not None and status == "database":
                status = "pending_delete"
    if status_override is not None:
        status = status_override  # type: ignore[assignment]

    object_name = out.get("object_name")
    display_name = out.get("display_name")
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

    # each field goes into ``out`` where it is read, in the record's order; only fields that
    # hold something are passed: a frozen dataclass with ~50 keyword arguments costs three
    # times as much to build, and this runs once per service
    out["type"], out["start"], out["error_control"] = type_, start, error_control
    if image_path_type is not None:
        out["image_path_type"] = reg_type_name(image_path_type)
    if object_name is not None:
        out["object_name"] = object_name
    out["display_name"] = display_name

    params = special.get("PARAMETERS") if special else None
    if params is not None or later:
        _hosting(params, later, out, sources, diags)

    for item in out.get("depend_on_service", ()):
        if item.startswith("+"):
            diags.append(
                Diagnostic(
                    "group_in_depend_on_service", "DependOnService", "a '+group' entry stored in DependOnService"
                )
            )
            break

    security_key = trigger_key = None
    security_raw = None
    triggers: tuple[dict[str, Any], ...] = ()
    if special:
        security_key = special.get("SECURITY")
        if security_key is not None:
            security_raw = security_key.values_by_name().get("SECURITY")
            if security_raw is not None:
                data, more = decode_binary("Security\\Security", security_raw)
                out["security_hex"] = data.hex()
                if more:
                    diags += more
        trigger_key = special.get("TRIGGERINFO")
        if trigger_subs:
            triggers = triggers_raw(trigger_subs)
            for sub in trigger_subs:
                diags += sub.diagnostics
    if delete_value is not None:
        out["delete_flag"] = delete_value
    if key_hex is not None:
        out["key_security_hex"] = key_hex
    if triggers:
        out["triggers_raw"] = triggers

    if (
        (start is not None and (start > 4 or (start < 2 and base_type not in DRIVER_TYPES)))
        or (error_control is not None and error_control > 3)
        or (type_ is not None and type_ & SERVICE_INTERACTIVE_PROCESS)
        or len(name) > 255
        or not name.isascii()
        or "/" in name
        or "\\" in name
        or len(display_name) > MAX_API_NAME
    ):  # the common key has none of these: one test instead of ten
        flag_anomalies(name, type_, base_type, start, error_control, object_name, display_name, sources, key, diags)

    for holder in (params, security_key, trigger_key):
        if holder is not None and holder.diagnostics:
            diags += holder.diagnostics
    if failure_raw is not None:
        failure_actions, more = decode_failure_actions(
            failure_raw.data,
            command=out.get("failure_command"),
            reboot_message=out.get("reboot_message"),
            on_non_crash_failures=out.get("failure_actions_on_non_crash"),
        )
        if failure_actions is not None:
            out["failure_actions"] = failure_actions
        diags += more
    if triggers:
        decoded_triggers, more = decode_triggers(triggers)
        if decoded_triggers:
            out["triggers"] = decoded_triggers
        diags += more
    # descriptors: parsed now for their diagnostics (memoized by bytes); the record derives
    # SDDL and access from its raw hex through the same memo
    if security_raw is not None:
        diags += service_security(security_raw.data).diagnostics
    if key_hex is not None:  # by the hex text: the same text object for every key sharing the sk cell
        diags += key_security_hex(key_hex).diagnostics
    if not _NAMED_KEYS.isdisjoint(out):  # else check_named_values has nothing to check
        diags += check_named_values(
            type_=type_,
            start=start,
            service_sid_type=out.get("service_sid_type"),
            launch_protected=out.get("launch_protected"),
            user_service_flags=out.get("user_service_flags"),
            delayed_auto_start=out.get("delayed_auto_start"),
            required_privileges=out.get("required_privileges", ()),
        )
    if key.diagnostics:
        diags = [*key.diagnostics, *diags]  # reading trouble first, then decoding notes

    if subkeys:
        out["subkey_names"] = tuple([s.name for s in subkeys])
        out["subkey_last_writes"] = subkey_last_writes(special, trigger_subs)
    if values_list:
        out["raw_values"] = tuple(values_list)
    if params is not None:
        out["parameters_raw"] = tuple(params.values())
    out["name"], out["status"], out["reject_reason"] = name, status, reason
    out["sources"], out["diagnostics"] = sources, tuple(diags)
    return out


_NAMED_KEYS = frozenset(
    {"service_sid_type", "launch_protected", "user_service_flags", "delayed_auto_start", "required_privileges"}
)


def _hosting(
    params: KeyView | None,
    later: Mapping[str, RawValue],
    out: dict[str, Any],
    sources: dict[str, Source],
    diags: list[Diagnostic],
) -> None:
    """svchost hosting (§7.3) into ``out``: ServiceDll, where it was read and its type,
    ServiceMain, ServiceDllUnloadOnStop and ServiceManifest. Parameters wins when the subkey
    exists, whatever it holds; a key-level ServiceDll beside it is reported."""
    if params is not None:
        holder: Mapping[str, RawValue] = params.values_by_name()
        prefix = "Parameters\\"
    else:
        holder, prefix = later, ""
    service_dll = None
    raw = holder.get("SERVICEDLL")
    if raw is not None:
        service_dll = _text(prefix + "ServiceDll", raw, diags)
        sources["service_dll"] = "registry"
    key_level = later.get("SERVICEDLL") if params is not None else None
    if key_level is not None:
        key_level_dll = _text("ServiceDll", key_level, diags)
        diags.append(
            Diagnostic(
                "service_dll_conflict",
                "ServiceDll",
                f"ServiceDll also at key level ({quoted(key_level_dll)}); ignored because a Parameters subkey exists",
                "info" if key_level_dll == service_dll else "warning",
            )
        )
    if raw is not None:
        if raw.type != REG_EXPAND_SZ:
            diags.append(
                Diagnostic("service_dll_wrong_type", "ServiceDll", f"stored as {reg_type_name(raw.type)}", "info")
            )
        out["service_dll"] = service_dll
        out["service_dll_source"] = "parameters" if params is not None else "key"
        out["service_dll_type"] = reg_type_name(raw.type)
    raw = holder.get("SERVICEMAIN")
    if raw is not None:
        out["service_main"] = _text(prefix + "ServiceMain", raw, diags)
    raw = holder.get("SERVICEDLLUNLOADONSTOP")
    if raw is not None:
        unload_on_stop = _dword(prefix + "ServiceDllUnloadOnStop", raw, diags)
        if unload_on_stop is not None:
            out["service_dll_unload_on_stop"] = unload_on_stop
    raw = holder.get("SERVICEMANIFEST")
    if raw is not None:
        out["service_manifest"] = _text(prefix + "ServiceManifest", raw, diags)
