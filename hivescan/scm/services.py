"""Build the service records the SCM would create from the subkeys of ``Services``.

One record per subkey per control set, never fewer: keys the SCM would skip come out as
``rejected`` with a reason, keys with ``DeleteFlag`` as ``pending_delete``.

References: scm-spec.md §2 (which keys become records), §3 (fields), §7.3 (ServiceDll),
§9.2-9.4 (value rules, names, anomalies).
"""

from __future__ import annotations

from codecs import utf_16_le_decode as _utf16_le_decode
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import decode_utf16
from hivescan.hive.model import KeyView, RawValue
from hivescan.hive.regtypes import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, reg_type_name
from hivescan.hive.tree import Key, upcase
from hivescan.scm.constants import (
    ACCEPTED_TYPES,
    DRIVER_TYPES,
    SERVICE_INTERACTIVE_PROCESS,
    SERVICE_PKG_SERVICE,
    USER_INSTANCE_TYPES,
    USER_TEMPLATE_TYPES,
    WIN32_TYPES,
)
from hivescan.scm.decode import STRING_TYPES, decode_binary, decode_dword, decode_multi_sz, decode_string
from hivescan.scm.failure_actions import decode_failure_actions
from hivescan.scm.keywalk import Walked, claim_listings, read_walked, service_walker, walk_service_key
from hivescan.scm.memo import RecordMemo, WalkExtras, record_from_hit
from hivescan.scm.named_values import check_named_values
from hivescan.scm.record import HiveRef, Origin, ServiceRecord, Source, new_origin, record_from_fields
from hivescan.scm.security import key_security_hex, service_security
from hivescan.scm.triggers import decode_triggers
from hivescan.textsafe import quoted

MAX_API_NAME = 256  # service and display names (CreateService)

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


def classify(
    name: str, type_: int | None, start: int | None, error_control: int | None, lenient: bool
) -> tuple[str, str | None]:
    """Status and reject reason per spec §2.3 steps A-E (DeleteFlag is applied by the caller)."""
    if name.startswith("{"):
        return "rejected", "brace_name"
    if type_ is None:
        return "rejected", "no_type"
    if (type_ & ~SERVICE_PKG_SERVICE) not in ACCEPTED_TYPES:
        return "rejected", "bad_type"
    if start is None:
        return "rejected", "no_start"
    if error_control is None and not lenient:
        return "rejected", "no_errorcontrol"
    return "database", None


def build_service_record(
    key: KeyView,
    *,
    hive: HiveRef,
    control_set: int | None,
    control_set_source: str | None = None,
    lenient: bool = False,
    status_override: str | None = None,
    memo: RecordMemo | None = None,
) -> ServiceRecord:
    """The record for one ``Services\\<name>`` key (spec §2.3, §3).

    ``key`` is a live key or one recovered from free/orphaned cells (hivescan.scm.deleted):
    both are decoded by the same rules. ``memo`` (live keys only): decoded fields of keys
    already seen with the very same content (see :class:`RecordMemo`); None decodes afresh.
    """
    if memo is not None and type(key) is Key and (walked := walk_service_key(key)) is not None:
        origin = new_origin(hive, control_set, key.path, key.last_write, key.parser)
        return _record_from_walk(key, walked, memo, lenient, status_override, origin, control_set_source)
    # every read the decoding makes, first and in its order: listing order matters (a key
    # cell is given out once per hive, see HiveReader._listed), and afterwards the keys'
    # diagnostics are complete, so they can be part of the memo's key
    subkeys = key.subkeys()
    values_list = key.values()
    special = _special_subkeys(subkeys)
    for upper in ("PARAMETERS", "SECURITY"):
        holder = special.get(upper)
        if holder is not None:
            holder.values()
    trigger_key = special.get("TRIGGERINFO")
    trigger_subs = trigger_key.subkeys() if trigger_key is not None else ()
    for sub in trigger_subs:
        sub.values()
    key_hex = key.security_hex()
    origin = new_origin(hive, control_set, key.path, key.last_write, key.parser)
    if memo is None or type(key) is not Key:
        fields = _decode_key(key, subkeys, values_list, special, trigger_subs, key_hex, lenient, status_override)
        return record_from_fields(fields, origin=origin, control_set_source=control_set_source)
    content = _content(key, subkeys, values_list, special, trigger_subs, key_hex, lenient, status_override)
    cached = memo.get(content)
    if cached is None:
        fields = _decode_key(key, subkeys, values_list, special, trigger_subs, key_hex, lenient, status_override)
        memo.put(content, fields)
        return record_from_fields(fields, origin=origin, control_set_source=control_set_source)
    # the same content decoded before: its fields, with this key's own containers (nothing
    # mutable is shared between records; the values are equal by the memo's key)
    own = dict(cached)
    own["sources"] = dict(cached["sources"])
    if values_list:
        own["raw_values"] = tuple(values_list)
    if subkeys:
        own["subkey_last_writes"] = _subkey_last_writes(special, trigger_subs)
    params = special.get("PARAMETERS")
    if params is not None:
        own["parameters_raw"] = tuple(params.values())
    if "triggers_raw" in cached:
        own["triggers_raw"] = _triggers_raw(trigger_subs)
    return record_from_fields(own, origin=origin, control_set_source=control_set_source)


def _record_from_walk(
    key: Key,
    walked: Walked,
    memo: RecordMemo,
    lenient: bool,
    status_override: str | None,
    origin: Origin,
    control_set_source: str | None,
) -> ServiceRecord:
    """The record of ``key`` from its compiled walk (hivescan.scm.keywalk), no Key objects
    made: from the memo when the same bytes were decoded before, else decoded from the
    walk's bytes and kept under them. The walked cells are claimed as listed."""
    key_hex = key.security_hex()
    walk_key = ("walk", walked.content, key_hex, lenient, status_override)
    known = memo.get_walked(walk_key)
    claim_listings(key, walked)
    if known is not None:
        return record_from_hit(known, walked, origin, control_set_source)
    view, subkeys, trigger_subs, special = read_walked(key, walked)
    fields = _decode_key(view, subkeys, view.values(), special, trigger_subs, key_hex, lenient, status_override)
    record = record_from_fields(fields, origin=origin, control_set_source=control_set_source)
    # the fields dict itself is the entry's from here on (put_walked drops the per-key ones)
    memo.put_walked(walk_key, fields, len(walked.content), _walk_extras(fields, special, trigger_subs))
    return record


def _walk_extras(
    fields: Mapping[str, Any], special: Mapping[str, KeyView], trigger_subs: Sequence[KeyView]
) -> WalkExtras:
    triggers = fields.get("triggers_raw")
    if triggers is None:  # the common case: the names of subkey_last_writes alone (its key order)
        return _new_tuple(
            WalkExtras,
            (
                fields.get("raw_values"),
                fields.get("parameters_raw"),
                tuple([s.name for s in special.values()]),
                None,
                (),
            ),
        )
    # each decoded trigger's subkey in list order (a walked key's subkey names are not alike)
    places = {sub.name: place for place, sub in enumerate(trigger_subs)}
    return WalkExtras(
        fields.get("raw_values"),
        fields.get("parameters_raw"),
        tuple(_subkey_last_writes(special, trigger_subs)),
        tuple([(t["subkey"], t["values"]) for t in triggers]),
        tuple([places[t.subkey] for t in fields["triggers"]]),
    )


def _special_subkeys(subkeys: Sequence[KeyView]) -> dict[str, KeyView]:
    """The first Parameters, Security and TriggerInfo subkeys (ci), in listing order."""
    special: dict[str, KeyView] = {}
    for sub in subkeys:
        upper = sub.name.upper()
        if upper in ("PARAMETERS", "SECURITY", "TRIGGERINFO") and upper not in special:
            special[upper] = sub
    return special


def _content(
    key: KeyView,
    subkeys: Sequence[KeyView],
    values: Sequence[RawValue],
    special: Mapping[str, KeyView],
    trigger_subs: Sequence[KeyView],
    key_hex: str | None,
    lenient: bool,
    status_override: str | None,
) -> tuple[Any, ...]:
    """Everything :func:`_decode_key` reads, as one hashable tuple (the memo's key)."""
    parts: list[Any] = [
        key.name,
        key.name_raw,
        tuple(values),
        tuple(key.diagnostics),
        key_hex,
        lenient,
        status_override,
        tuple([s.name for s in subkeys]),
    ]
    for upper in ("PARAMETERS", "SECURITY"):
        holder = special.get(upper)
        parts.append(None if holder is None else (tuple(holder.values()), tuple(holder.diagnostics)))
    trigger_key = special.get("TRIGGERINFO")
    if trigger_key is None:
        parts.append(None)
    else:
        subs = tuple([(s.name, s.last_write, tuple(s.values()), tuple(s.diagnostics)) for s in trigger_subs])
        parts.append((tuple(trigger_key.diagnostics), subs))
    return tuple(parts)


def _subkey_last_writes(special: Mapping[str, KeyView], trigger_subs: Sequence[KeyView]) -> dict[str, int]:
    out = {sub.name: sub.last_write for sub in special.values()}
    for sub in trigger_subs:
        out[f"TriggerInfo\\{sub.name}"] = sub.last_write
    return out


def _triggers_raw(trigger_subs: Sequence[KeyView]) -> tuple[dict[str, Any], ...]:
    return tuple(
        [
            {"subkey": sub.name, "last_write_filetime": sub.last_write, "values": tuple(sub.values())}
            for sub in trigger_subs
        ]
    )


def _decode_key(
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
            triggers = _triggers_raw(trigger_subs)
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
        _flag_anomalies(name, type_, base_type, start, error_control, object_name, display_name, sources, key, diags)

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
        out["subkey_last_writes"] = _subkey_last_writes(special, trigger_subs)
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


def _flag_anomalies(
    name: str,
    type_: int | None,
    base_type: int | None,
    start: int | None,
    error_control: int | None,
    object_name: str | None,
    display_name: str | None,
    sources: Mapping[str, Source],
    key: KeyView,
    diags: list[Diagnostic],
) -> None:
    """Record-level flags of spec §2.3 and §9.3 (the record is always kept)."""
    if start is not None and start > 4:
        diags.append(Diagnostic("start_out_of_range", "Start", f"Start={start} (valid 0-4); the SCM does not check"))
    if start in (0, 1) and base_type is not None and base_type not in DRIVER_TYPES and base_type in ACCEPTED_TYPES:
        diags.append(Diagnostic("start_invalid_for_win32", "Start", f"Start={start} is for drivers only"))
    if error_control is not None and error_control > 3:
        diags.append(
            Diagnostic("error_control_out_of_range", "ErrorControl", f"ErrorControl={error_control} (valid 0-3)")
        )
    if (
        type_ is not None
        and type_ & SERVICE_INTERACTIVE_PROCESS
        and sources.get("object_name") == "registry"
        and (object_name or "").strip().upper() not in ("LOCALSYSTEM", ".\\LOCALSYSTEM")
    ):
        diags.append(
            Diagnostic(
                "interactive_not_localsystem", "ObjectName", f"interactive service runs as {quoted(object_name)}"
            )
        )
    if "/" in name or "\\" in name:
        diags.append(Diagnostic("invalid_service_name", "name", "service names may not contain '/' or '\\'"))
    if len(name) > 255:
        diags.append(
            Diagnostic(
                "ros_enum_would_stop_here",
                "name",
                f"{len(name)}-character key name: RegEnumKeyEx with a 256-character buffer fails here",
                "error",
            )
        )
    if len(name) > MAX_API_NAME:
        diags.append(Diagnostic("exceeds_api_limit", "name", f"{len(name)} characters (API limit {MAX_API_NAME})"))
    if display_name is not None and len(display_name) > MAX_API_NAME:
        diags.append(
            Diagnostic("exceeds_api_limit", "DisplayName", f"{len(display_name)} characters (API limit {MAX_API_NAME})")
        )
    if not name.isascii() and key.name_raw is not None:
        diags.append(Diagnostic("non_ascii_name", "name", f"raw name bytes {key.name_raw.hex()}", "info"))
    if (
        base_type in USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES
        and type_ is not None
        and type_ & SERVICE_INTERACTIVE_PROCESS
    ):
        diags.append(Diagnostic("interactive_user_service", "Type", "per-user type with the interactive bit"))


def flag_display_name_collisions(records: Sequence[ServiceRecord]) -> list[ServiceRecord]:
    """Two records sharing a display name, or a display name equal to another's name (§9.3)."""
    live = [r for r in records if r.status in ("database", "pending_delete")]
    by_display: dict[str, list[ServiceRecord]] = {}
    names = {(r.name.upper() if r.name.isascii() else upcase(r.name)): r for r in live}
    for rec in live:
        if rec.display_name and rec.sources.get("display_name") == "registry":
            by_display.setdefault(upcase(rec.display_name), []).append(rec)
    notes: dict[int, list[Diagnostic]] = {}
    for display, group in by_display.items():
        if len(group) > 1:
            others = ", ".join(r.name for r in group)
            for rec in group:
                notes.setdefault(id(rec), []).append(
                    Diagnostic("display_name_collision", "DisplayName", f"shared by {others}", "info")
                )
        other = names.get(display)
        if other is not None:
            for rec in group:
                if rec is not other:
                    notes.setdefault(id(rec), []).append(
                        Diagnostic(
                            "display_name_collision", "DisplayName", f"equals the name of service {other.name}", "info"
                        )
                    )
    if not notes:
        return list(records)
    return [replace(r, diagnostics=r.diagnostics + tuple(notes[id(r)])) if id(r) in notes else r for r in records]


def flag_duplicate_names(records: Sequence[ServiceRecord]) -> list[ServiceRecord]:
    seen: set[str] = set()
    out = []
    for rec in records:
        name = rec.name
        upper = name.upper() if name.isascii() else upcase(name)
        if upper in seen:
            note = Diagnostic("duplicate_ci_name", "name", "another service key has the same name (ci)", "error")
            rec = replace(rec, diagnostics=(*rec.diagnostics, note))
        seen.add(upper)
        out.append(rec)
    return out


def build_service_database(
    services_key: Key,
    *,
    hive: HiveRef,
    control_set: int | None,
    control_set_source: str | None = None,
    lenient: bool = False,
    memo: RecordMemo | None = None,
) -> list[ServiceRecord]:
    """Every subkey of ``Services`` as a record, in enumeration (hive) order.

    ``memo``: decoded keys of this process by content (:class:`RecordMemo`); None decodes
    every key afresh (the reference the memo is tested against).
    """
    records: list[ServiceRecord] = []
    append = records.append
    walk = service_walker(services_key)
    for key in services_key.subkeys():
        # what build_service_record does first, without its keyword call per key (~1 us)
        if memo is not None and (walked := walk(key)) is not None:
            origin = new_origin(hive, control_set, key.path, key.last_write, key.parser)
            append(_record_from_walk(key, walked, memo, lenient, None, origin, control_set_source))
            continue
        append(
            build_service_record(
                key,
                hive=hive,
                control_set=control_set,
                control_set_source=control_set_source,
                lenient=lenient,
                memo=memo,
            )
        )
    records = flag_duplicate_names(records)
    return flag_display_name_collisions(records)


__all__ = [
    "RecordMemo",
    "build_service_database",
    "build_service_record",
    "classify",
    "flag_display_name_collisions",
]
