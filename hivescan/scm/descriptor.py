"""Self-relative security descriptors: bounded parsing and SDDL as Windows prints it.

A service has two descriptors: the ``Security\\Security`` value (the service object's own,
checked by the SCM) and its key's registry security (the ``sk`` cell). Both are
self-relative SECURITY_DESCRIPTORs (MS-DTYP 2.4.6), parsed here with every offset, size and
count bounded; a structural fault makes the whole descriptor invalid.

The SDDL rendering follows ``ConvertSecurityDescriptorToStringSecurityDescriptor`` as ``sc
sdshow`` uses it: owner, group, then ``D:`` and ``S:`` with their flags (P, AR, AI), ACEs as
``(type;flags;rights;object;inherited object;sid)``, rights as one composite name when the
whole mask is one (GA GR GW GX RC SD WD WO, FA FR FW FX, KA KR KW KX), else per-bit names
(CC DC LC SW RP WP DT LO CR, SD RC WD WO, GA GX GW GR), else ``0x`` hex when any bit has no
name. For services the bit names read: CC query config, DC change config, LC query status,
SW enumerate dependents, RP start, WP stop, DT pause/continue, LO interrogate, CR user-defined
control. SIDs print as their alias when Windows has one (:mod:`hivescan.scm.sids`);
conditional ACEs print their condition (:mod:`hivescan.scm.conditions`).

References: scm-spec.md §4.3; MS-DTYP 2.4.4-2.4.6, 2.5.1.
"""

from __future__ import annotations

import re
import struct
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.scm.conditions import decode_condition
from hivescan.scm.sids import sddl_sid

SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_SACL_AUTO_INHERIT_REQ = 0x0200
SE_DACL_AUTO_INHERITED = 0x0400
SE_SACL_AUTO_INHERITED = 0x0800
SE_DACL_PROTECTED = 0x1000
SE_SACL_PROTECTED = 0x2000
SE_SELF_RELATIVE = 0x8000

#: SDDL ACL flags and their control bits for the DACL and the SACL (protected, auto-inherit req, auto-inherited)
ACL_FLAG_TOKENS = ("P", "AR", "AI")
DACL_FLAG_BITS = (SE_DACL_PROTECTED, SE_DACL_AUTO_INHERIT_REQ, SE_DACL_AUTO_INHERITED)
SACL_FLAG_BITS = (SE_SACL_PROTECTED, SE_SACL_AUTO_INHERIT_REQ, SE_SACL_AUTO_INHERITED)

INHERIT_ONLY_ACE = 0x08
MAX_ACES = 0xFFFF  # AceCount is 16 bits; the loop is also bounded by the ACL size

# ACE types whose body is ACCESS_MASK + SID (+ optional application data)
_SIMPLE_ACES = {
    0x00: "A",
    0x01: "D",
    0x02: "AU",
    0x03: "AL",
    0x09: "XA",
    0x0A: "XD",
    0x0D: "XU",
    0x11: "ML",
    0x12: "RA",
    0x13: "SP",
    0x14: "TL",
    0x15: "FL",
}
# ACE types whose body is ACCESS_MASK + flags + optional GUIDs + SID (+ application data)
_OBJECT_ACES = {0x05: "OA", 0x06: "OD", 0x07: "OU", 0x08: "OL", 0x0B: "ZA", 0x0C: None, 0x0F: None, 0x10: None}
#: ACE types whose bytes after the SID are application data (callback conditions, resource claims)
DATA_ACES = frozenset({0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x12})
ACE_TYPE_CODES = {**{v: k for k, v in _SIMPLE_ACES.items()}, **{v: k for k, v in _OBJECT_ACES.items() if v}}

ACE_FLAGS = (("OI", 0x01), ("CI", 0x02), ("NP", 0x04), ("IO", 0x08), ("ID", 0x10), ("SA", 0x40), ("FA", 0x80))
_KNOWN_ACE_FLAGS = 0xDF

# whole-mask names, tried first (in this order) -- the converter's table
WHOLE_RIGHTS = (
    ("GA", 0x10000000),
    ("GR", 0x80000000),
    ("GW", 0x40000000),
    ("GX", 0x20000000),
    ("RC", 0x00020000),
    ("SD", 0x00010000),
    ("WD", 0x00040000),
    ("WO", 0x00080000),
    ("RP", 0x10),
    ("WP", 0x20),
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("LO", 0x80),
    ("DT", 0x40),
    ("CR", 0x100),
    ("FA", 0x001F01FF),
    ("FR", 0x00120089),
    ("FW", 0x00120116),
    ("FX", 0x001200A0),
    ("KA", 0x000F003F),
    ("KR", 0x00020019),
    ("KW", 0x00020006),
    ("KX", 0x00020019),
)
# per-bit names, printed in bit order
BIT_RIGHTS = {
    0: "CC",
    1: "DC",
    2: "LC",
    3: "SW",
    4: "RP",
    5: "WP",
    6: "DT",
    7: "LO",
    8: "CR",
    16: "SD",
    17: "RC",
    18: "WD",
    19: "WO",
    28: "GA",
    29: "GX",
    30: "GW",
    31: "GR",
}
LABEL_RIGHTS = ((0x1, "NW"), (0x2, "NR"), (0x4, "NX"))  # mandatory-label ACE masks


# ---------------------------------------------------------------- structures


class Ace(NamedTuple):
    type: int
    flags: int
    mask: int
    sid: str | None  # None when the SID could not be read (the ACE is then invalid)
    object_type: str | None = None  # object ACEs only
    inherited_object_type: str | None = None
    extra_hex: str = ""  # bytes after the SID: application data (conditions, claims) or slack

    @property
    def inherit_only(self) -> bool:
        return bool(self.flags & INHERIT_ONLY_ACE)

    @property
    def application_data(self) -> bytes:
        """Condition or claim bytes of callback and resource-attribute ACEs (empty for other types)."""
        return bytes.fromhex(self.extra_hex) if self.type in DATA_ACES else b""

    @property
    def slack(self) -> bytes:
        """Bytes after the SID of an ACE type that carries no data: ignored by Windows (NT 4 left many)."""
        return b"" if self.type in DATA_ACES or self.sid is None else bytes.fromhex(self.extra_hex)


class Acl(NamedTuple):
    revision: int
    aces: tuple[Ace, ...]


@dataclass(frozen=True, slots=True)
class SecurityDescriptor:
    """A parsed descriptor; ``dacl``/``sacl`` is None when absent, ``null_dacl`` marks a present NULL DACL."""

    control: int
    owner: str | None
    group: str | None
    dacl: Acl | None
    sacl: Acl | None
    dacl_present: bool
    sacl_present: bool

    @property
    def null_dacl(self) -> bool:
        return self.dacl_present and self.dacl is None


class _Invalid(Exception):
    """The descriptor breaks a structural rule; it is treated as absent."""


def _sid_at(data: bytes, offset: int, end: int) -> tuple[str, int]:
    """SID string and its length at ``offset``; bounded by ``end``."""
    if offset + 8 > end:
        raise _Invalid(f"SID at 0x{offset:x} runs past its container")
    revision, count = data[offset], data[offset + 1]
    if revision != 1:
        raise _Invalid(f"SID at 0x{offset:x} has revision {revision}")
    if count > 15:
        raise _Invalid(f"SID at 0x{offset:x} declares {count} sub-authorities (max 15)")
    size = 8 + 4 * count
    if offset + size > end:
        raise _Invalid(f"SID at 0x{offset:x} ({count} sub-authorities) runs past its container")
    return _sid_text(data[offset : offset + size]), size


@lru_cache(maxsize=4096)
def _sid_text(blob: bytes) -> str:
    """``S-1-...`` of a checked binary SID (authorities of 2**32 and above in hex, as Windows prints them)."""
    authority = int.from_bytes(blob[2:8], "big")
    auth = str(authority) if authority < 1 << 32 else f"0x{authority:012x}"
    subs = struct.unpack_from(f"<{blob[1]}I", blob, 8)
    return "-".join(("S-1", auth, *map(str, subs)))


def _guid(data: bytes, offset: int) -> str:
    return str(uuid.UUID(bytes_le=data[offset : offset + 16]))  # SDDL form: lower case, no braces


@lru_cache(maxsize=8192)
def _parse_ace(blob: bytes) -> Ace:
    """One ACE (header included); memoized, since stock ACEs repeat across descriptors."""
    ace_type, flags, _size, mask = struct.unpack_from("<BBHI", blob, 0)
    end = len(blob)
    if ace_type in _SIMPLE_ACES:
        sid, sid_len = _sid_at(blob, 8, end)
        return Ace(ace_type, flags, mask, sid, extra_hex=blob[8 + sid_len :].hex())
    if ace_type in _OBJECT_ACES:
        if end < 12:
            raise _Invalid("object ACE is too short")
        obj_flags = struct.unpack_from("<I", blob, 8)[0]
        cursor = 12
        guids: list[str | None] = []
        for bit in (0x1, 0x2):
            if obj_flags & bit:
                if cursor + 16 > end:
                    raise _Invalid("object ACE GUID runs past the ACE")
                guids.append(_guid(blob, cursor))
                cursor += 16
            else:
                guids.append(None)
        sid, sid_len = _sid_at(blob, cursor, end)
        return Ace(ace_type, flags, mask, sid, guids[0], guids[1], blob[cursor + sid_len :].hex())
    return Ace(ace_type, flags, mask, None, extra_hex=blob[8:].hex())


def _acl_at(data: bytes, offset: int, what: str, notes: list[Diagnostic]) -> Acl:
    if offset + 8 > len(data):
        raise _Invalid(f"{what} header at 0x{offset:x} runs past the descriptor")
    revision, _sbz1, size, count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    if revision not in (2, 3, 4):
        raise _Invalid(f"{what} revision {revision} (valid 2-4)")
    if size < 8 or offset + size > len(data):
        raise _Invalid(f"{what} size {size} at 0x{offset:x} runs past the descriptor ({len(data)} bytes)")
    end = offset + size
    pos = offset + 8
    aces: list[Ace] = []
    for index in range(min(count, MAX_ACES)):
        if pos + 4 > end:
            raise _Invalid(f"{what} declares {count} ACEs but ACE {index} starts past its end")
        ace_size = struct.unpack_from("<H", data, pos + 2)[0]
        if ace_size < 8 or pos + ace_size > end:
            raise _Invalid(f"{what} ACE {index} size {ace_size} does not fit the ACL")
        ace_end = pos + ace_size
        try:
            ace = _parse_ace(data[pos:ace_end])
        except _Invalid as exc:
            raise _Invalid(f"{what} ACE {index}: {exc}") from None
        if ace.sid is None:
            notes.append(
                Diagnostic(
                    "sd_ace_unknown_type",
                    what,
                    f"ACE {index} has type 0x{ace.type:02x}, unknown to hivescan; kept as hex, not evaluated",
                )
            )
        aces.append(ace)
        if ace_size % 4:
            notes.append(Diagnostic("sd_ace_unaligned", what, f"ACE {index} size {ace_size} is not a multiple of 4"))
        pos = ace_end
    return Acl(revision, tuple(aces))


def _acl_in(data: bytes, offset: int, what: str, notes: list[Diagnostic]) -> Acl:
    """The ACL at ``offset``, memoized by its bytes (stock ACLs repeat across descriptors)."""
    if offset + 8 > len(data):
        raise _Invalid(f"{what} header at 0x{offset:x} runs past the descriptor")
    size = struct.unpack_from("<H", data, offset + 2)[0]
    if size < 8 or offset + size > len(data):
        raise _Invalid(f"{what} size {size} at 0x{offset:x} runs past the descriptor ({len(data)} bytes)")
    acl, acl_notes = _acl_cached(data[offset : offset + size], what)
    notes.extend(acl_notes)
    return acl


@lru_cache(maxsize=4096)
def _acl_cached(blob: bytes, what: str) -> tuple[Acl, tuple[Diagnostic, ...]]:
    notes: list[Diagnostic] = []
    return _acl_at(blob, 0, what, notes), tuple(notes)


def parse_security_descriptor(data: bytes) -> tuple[SecurityDescriptor | None, list[Diagnostic], str | None]:
    """(descriptor or None, notes, why invalid): the structural rules of scm-spec §4.3."""
    notes: list[Diagnostic] = []
    try:
        if len(data) < 20:
            raise _Invalid(f"{len(data)} bytes; a descriptor header needs 20")
        revision, _sbz1, control, off_owner, off_group, off_sacl, off_dacl = struct.unpack_from("<BBHIIII", data, 0)
        if revision != 1:
            raise _Invalid(f"revision {revision} (must be 1)")
        if not control & SE_SELF_RELATIVE:
            raise _Invalid(f"control 0x{control:04x} lacks SE_SELF_RELATIVE")
        for label, off in (("owner", off_owner), ("group", off_group), ("SACL", off_sacl), ("DACL", off_dacl)):
            if off and (off < 20 or off >= len(data) or off % 4):
                raise _Invalid(f"{label} offset 0x{off:x} is not a 4-aligned offset inside the {len(data)}-byte blob")
        owner = _sid_at(data, off_owner, len(data))[0] if off_owner else None
        group = _sid_at(data, off_group, len(data))[0] if off_group else None
        dacl_present = bool(control & SE_DACL_PRESENT)
        sacl_present = bool(control & SE_SACL_PRESENT)
        dacl = _acl_in(data, off_dacl, "DACL", notes) if dacl_present and off_dacl else None
        sacl = _acl_in(data, off_sacl, "SACL", notes) if sacl_present and off_sacl else None
        for label, present, off in (("DACL", dacl_present, off_dacl), ("SACL", sacl_present, off_sacl)):
            if off and not present:
                notes.append(
                    Diagnostic(
                        "sd_acl_ignored",
                        label,
                        f"{label} offset 0x{off:x} set but the present flag is clear; Windows ignores it",
                        "info",
                    )
                )
    except _Invalid as exc:
        return None, notes, str(exc)
    return SecurityDescriptor(control, owner, group, dacl, sacl, dacl_present, sacl_present), notes, None


# ---------------------------------------------------------------- SDDL


@lru_cache(maxsize=4096)
def rights_sddl(mask: int, ace_type: int | None = None) -> str:
    """An access mask as SDDL prints it (composite name, bit names, or hex)."""
    if mask == 0:
        return ""
    if ace_type == 0x11 and not mask & ~0x7:
        return "".join(name for bit, name in LABEL_RIGHTS if mask & bit)
    for name, value in WHOLE_RIGHTS:
        if mask == value:
            return name
    bits = [BIT_RIGHTS.get(i) for i in range(32) if mask >> i & 1]
    if None in bits:
        return f"0x{mask:x}"
    return "".join(b for b in bits if b)


@lru_cache(maxsize=256)
def _flags_sddl(flags: int) -> str:
    text = "".join(name for name, bit in ACE_FLAGS if flags & bit)
    unknown = flags & ~_KNOWN_ACE_FLAGS
    return text + f"0x{unknown:x}" if unknown else text


@lru_cache(maxsize=8192)
def _ace_sddl(ace: Ace) -> str:
    flags = _flags_sddl(ace.flags)
    token = _SIMPLE_ACES.get(ace.type) or _OBJECT_ACES.get(ace.type) or f"0x{ace.type:x}"
    sid = sddl_sid(ace.sid) if ace.sid else ""
    parts = [token, flags, rights_sddl(ace.mask, ace.type), ace.object_type or "", ace.inherited_object_type or "", sid]
    if ace.sid is None:
        parts.append(f"hex:{ace.extra_hex}")  # an unknown ACE type: its body, undecoded (flagged)
    elif ace.type in DATA_ACES and ace.extra_hex:
        condition = decode_condition(ace.application_data) if ace.type != 0x12 else None
        parts.append(condition if condition is not None else f"hex:{ace.extra_hex}")
    return "(" + ";".join(parts) + ")"


@lru_cache(maxsize=4096)
def _acl_sddl(tag: str, acl: Acl | None, flags: str) -> str:
    if acl is None:
        return f"{tag}:{flags}NO_ACCESS_CONTROL"
    return f"{tag}:{flags}" + "".join(_ace_sddl(a) for a in acl.aces)


def acl_flags_sddl(control: int, bits: tuple[int, int, int]) -> str:
    """``P``, ``AR``, ``AI`` of a DACL or SACL, in the converter's order."""
    return "".join(token for token, bit in zip(ACL_FLAG_TOKENS, bits) if control & bit)


def to_sddl(sd: SecurityDescriptor) -> str:
    """The whole descriptor (O:, G:, D:, S:) in SDDL."""
    out = []
    if sd.owner:
        out.append("O:" + sddl_sid(sd.owner))
    if sd.group:
        out.append("G:" + sddl_sid(sd.group))
    if sd.dacl_present:
        out.append(_acl_sddl("D", sd.dacl, acl_flags_sddl(sd.control, DACL_FLAG_BITS)))
    if sd.sacl_present:
        out.append(_acl_sddl("S", sd.sacl, acl_flags_sddl(sd.control, SACL_FLAG_BITS)))
    return "".join(out)


_OWNER_GROUP = re.compile(r"^(?:O:(?:S-[0-9a-fx-]+|[A-Z]{2}))?(?:G:(?:S-[0-9a-fx-]+|[A-Z]{2}))?")


def sdshow_part(sddl: str) -> str:
    """The ``D:...S:...`` part of an SDDL string: what ``sc sdshow`` prints (it asks for DACL and SACL)."""
    return sddl[_OWNER_GROUP.match(sddl).end() :]  # type: ignore[union-attr]  # the pattern always matches


__all__ = [
    "ACE_FLAGS",
    "ACE_TYPE_CODES",
    "ACL_FLAG_TOKENS",
    "BIT_RIGHTS",
    "DACL_FLAG_BITS",
    "DATA_ACES",
    "INHERIT_ONLY_ACE",
    "LABEL_RIGHTS",
    "SACL_FLAG_BITS",
    "WHOLE_RIGHTS",
    "Ace",
    "Acl",
    "SecurityDescriptor",
    "parse_security_descriptor",
    "rights_sddl",
    "sdshow_part",
    "to_sddl",
]
