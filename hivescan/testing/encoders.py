"""Encoders: the twins of hivescan's binary-value decoders, for building test hives.

Each ``encode_*`` writes the bytes Windows stores, so a decoder can be tested by a
round trip (encode -> write hive -> read -> decode) and fixtures can say what they mean
(``{encoded: failure_actions, reset_period_s: 86400, actions: [...]}``) instead of hex.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from hivescan.hive.regtypes import REG_BINARY, REG_DWORD

ACTION_CODES = {"none": 0, "restart": 1, "reboot": 2, "run_command": 3, "own_restart": 4}


def encode_failure_actions(
    reset_period_s: int = 0,
    actions: Iterable[Mapping[str, Any]] = (),
    reboot_msg: int = 0,
    command: int = 0,
    actions_offset: int | None = None,
    *,
    declared_count: int | None = None,
    layout: str = "wow64",
    trailing: bytes | str = b"",
) -> bytes:
    """SERVICE_FAILURE_ACTIONS in its 32-bit registry form (scm-spec §4.1): a 20-byte header
    (reset period, two placeholder "pointers", count, actions placeholder) then 8 bytes per
    SC_ACTION (type, delay in ms). The placeholders are written as Windows does: 1 when the
    RebootMessage/FailureCommand value exists, 0x14 before a non-empty action array.

    For odd blobs: ``declared_count`` overrides cActions (a count the data does not hold),
    ``layout="x64"`` writes the 40-byte native header a non-Windows writer leaves, and
    ``trailing`` (bytes or hex) is appended after the actions."""
    acts = list(actions)
    count = len(acts) if declared_count is None else declared_count
    if layout == "x64":
        if actions_offset is None:
            actions_offset = 0x28 if acts else 0
        out = struct.pack("<I4xQQI4xQ", reset_period_s & 0xFFFFFFFF, reboot_msg, command, count, actions_offset)
    elif layout == "wow64":
        if actions_offset is None:
            actions_offset = 0x14 if acts else 0
        out = struct.pack("<IIIII", reset_period_s & 0xFFFFFFFF, reboot_msg, command, count, actions_offset)
    else:
        raise ValueError(f"layout must be wow64 or x64, not {layout!r}")
    for act in acts:
        kind = act.get("action", "none")
        code = ACTION_CODES[kind] if isinstance(kind, str) else int(kind)
        out += struct.pack("<II", code, int(act.get("delay_ms", 0)))
    return out + (bytes.fromhex(trailing) if isinstance(trailing, str) else bytes(trailing))


DATA_TYPE_CODES = {"binary": 1, "string": 2, "level": 3, "keyword_any": 4, "keyword_all": 5}


def encode_trigger_data(data_type: str | int = "binary", value: Any = b"") -> bytes:
    """One trigger data item (``TriggerInfo\\N\\DataM``) by its SERVICE_TRIGGER_DATA_TYPE
    (scm-spec §4.4): binary as bytes or hex, string as text or a list (multi-string, double
    NUL), level as one byte, keyword_any/keyword_all as a little-endian u64."""
    code = DATA_TYPE_CODES[data_type] if isinstance(data_type, str) else int(data_type)
    if code == 2:
        items = [value] if isinstance(value, str) else list(value)
        text = "\0".join(items) + ("\0\0" if len(items) > 1 else "\0")
        return text.encode("utf-16-le", "surrogatepass")
    if code == 3:
        return bytes([int(value) & 0xFF])
    if code in (4, 5):
        return struct.pack("<Q", int(value) & 0xFFFFFFFFFFFFFFFF)
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


def trigger_values(
    type: int,
    action: int = 1,
    guid: str | None = None,
    data: Iterable[Mapping[str, Any]] = (),
    guid_name: str = "GUID",
) -> list[tuple[str, int, bytes]]:
    """The values of one ``TriggerInfo\\N`` subkey: ``(name, registry type, bytes)``; data items
    as ``{data_type, value}``, numbered from 0 (``number`` overrides, to plant gaps)."""
    out: list[tuple[str, int, bytes]] = [
        ("Type", REG_DWORD, struct.pack("<I", type)),
        ("Action", REG_DWORD, struct.pack("<I", action)),
    ]
    if guid is not None:
        out.append((guid_name, REG_BINARY, uuid.UUID(guid.strip("{}")).bytes_le))
    for index, item in enumerate(data):
        number = int(item.get("number", index))
        kind = item.get("data_type", "binary")
        code = DATA_TYPE_CODES[kind] if isinstance(kind, str) else int(kind)
        out.append((f"Data{number}", REG_BINARY, encode_trigger_data(code, item.get("value", b""))))
        out.append((f"DataType{number}", REG_DWORD, struct.pack("<I", code)))
    return out


ACE_TYPE_CODES = {"allow": 0, "deny": 1, "audit": 2}


def encode_security_descriptor(
    owner: str | None = None,
    group: str | None = None,
    dacl: Iterable[Mapping[str, Any]] | None = None,
    sacl: Iterable[Mapping[str, Any]] | None = None,
    sddl: str | None = None,
) -> bytes:
    """A self-relative SECURITY_DESCRIPTOR from readable parts; ACEs as
    ``{type: allow|deny|audit, flags: n, mask: n, sid: S-1-...}``, or from ``sddl`` text
    (see :mod:`hivescan.testing.sddl`)."""
    from hivescan.testing.regf import ace_bytes, acl_bytes, security_descriptor

    if sddl is not None:
        if owner or group or dacl is not None or sacl is not None:
            raise ValueError("give either sddl or owner/group/dacl/sacl")
        from hivescan.testing.sddl import sddl_to_bytes

        return sddl_to_bytes(sddl)

    def acl(entries: Iterable[Mapping[str, Any]] | None) -> bytes | None:
        if entries is None:
            return None
        aces = []
        for ace in entries:
            kind = ace.get("type", "allow")
            code = ACE_TYPE_CODES[kind] if isinstance(kind, str) else int(kind)
            aces.append(ace_bytes(code, int(ace.get("flags", 0)), int(ace["mask"]), str(ace["sid"])))
        return acl_bytes(aces)

    return security_descriptor(owner, group, acl(dacl), acl(sacl))
