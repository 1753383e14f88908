"""Encoders: the twins of hivescan's binary-value decoders, for building test hives.

Each ``encode_*`` writes the bytes Windows stores, so a decoder can be tested by a
round trip (encode -> write hive -> read -> decode) and fixtures can say what they mean
(``{encoded: failure_actions, reset_period_s: 86400, actions: [...]}``) instead of hex.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

ACTION_CODES = {"none": 0, "restart": 1, "reboot": 2, "run_command": 3, "own_restart": 4}


def encode_failure_actions(
    reset_period_s: int = 0,
    actions: Iterable[Mapping[str, Any]] = (),
    reboot_msg: int = 0,
    command: int = 0,
    actions_offset: int | None = None,
) -> bytes:
    """SERVICE_FAILURE_ACTIONS in its 32-bit registry form (scm-spec §4.1): a 20-byte header
    (reset period, two placeholder "pointers", count, actions placeholder) then 8 bytes per
    SC_ACTION (type, delay in ms). The placeholders are written as Windows does: 1 when the
    RebootMessage/FailureCommand value exists, 0x14 before a non-empty action array."""
    acts = list(actions)
    if actions_offset is None:
        actions_offset = 0x14 if acts else 0
    out = struct.pack("<IIIII", reset_period_s & 0xFFFFFFFF, reboot_msg, command, len(acts), actions_offset)
    for act in acts:
        kind = act.get("action", "none")
        code = ACTION_CODES[kind] if isinstance(kind, str) else int(kind)
        out += struct.pack("<II", code, int(act.get("delay_ms", 0)))
    return out


ACE_TYPE_CODES = {"allow": 0, "deny": 1, "audit": 2}


def encode_security_descriptor(
    owner: str | None = None,
    group: str | None = None,
    dacl: Iterable[Mapping[str, Any]] | None = None,
    sacl: Iterable[Mapping[str, Any]] | None = None,
) -> bytes:
    """A self-relative SECURITY_DESCRIPTOR from readable parts; ACEs as
    ``{type: allow|deny|audit, flags: n, mask: n, sid: S-1-...}``."""
    from hivescan.testing.regf import ace_bytes, acl_bytes, security_descriptor

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
