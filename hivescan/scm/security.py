"""Self-relative security descriptors: parsing, SDDL as Windows prints it, who may do what.

Two descriptors matter for a service: the ``Security\\Security`` value (the service object's
own descriptor, checked by the SCM: who may query, reconfigure, start, stop, delete the
service) and the service key's registry security (its ``sk`` cell: who may write the
registry values behind the service). Both are self-relative SECURITY_DESCRIPTORs (MS-DTYP
2.4.6) and are parsed here with every offset, size and count bounded.

The SDDL rendering follows ``ConvertSecurityDescriptorToStringSecurityDescriptor`` as ``sc
sdshow`` uses it: owner, group, then ``D:`` and ``S:`` with their flags (P, AR, AI), ACEs as
``(type;flags;rights;object;inherited object;sid)``, rights as one composite name when the
whole mask is one (GA GR GW GX RC SD WD WO, FA FR FW FX, KA KR KW KX), else per-bit names
(CC DC LC SW RP WP DT LO CR, SD RC WD WO, GA GX GW GR), else ``0x`` hex when any bit has no
name. For services the bit names read: CC query config, DC change config, LC query status,
SW enumerate dependents, RP start, WP stop, DT pause/continue, LO interrogate, CR user-defined
control.

Access is evaluated the way AccessCheck walks a DACL: ACEs in order, inherit-only ACEs
skipped, a deny ACE denies the bits not granted yet, an allow ACE grants the bits not denied
yet -- so a deny placed before an allow wins and one placed after it does not. Each principal
named in the DACL is evaluated on its own (as a token holding only that SID); generic bits
are mapped with the object's generic mapping. A missing DACL or a NULL DACL grants everyone
everything.

References: scm-spec.md §4.3; detections.md §1.7 (#61-63); MS-DTYP 2.4.4-2.4.6.
"""

from __future__ import annotations

import re
import struct
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.scm.conditions import decode_condition
from hivescan.scm.sids import describe_sid, sddl_sid

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

GENERIC_READ, GENERIC_WRITE, GENERIC_EXECUTE, GENERIC_ALL = 0x80000000, 0x40000000, 0x20000000, 0x10000000
READ_CONTROL, WRITE_DAC, WRITE_OWNER, DELETE = 0x20000, 0x40000, 0x80000, 0x10000

# standard rights shared by every object type (winnt.h)
STANDARD_RIGHTS = (
    (DELETE, "delete"),
    (READ_CONTROL, "read_control"),
    (WRITE_DAC, "write_dac"),
    (WRITE_OWNER, "write_owner"),
    (0x100000, "synchronize"),
    (0x1000000, "access_system_security"),
)
# service object rights (winsvc.h) and the SCM's generic mapping ("Service Security and Access Rights")
SERVICE_RIGHTS = (
    (0x1, "query_config"),
    (0x2, "change_config"),
    (0x4, "query_status"),
    (0x8, "enumerate_dependents"),
    (0x10, "start"),
    (0x20, "stop"),
    (0x40, "pause_continue"),
    (0x80, "interrogate"),
    (0x100, "user_defined_control"),
    *STANDARD_RIGHTS,
)
SERVICE_GENERIC = (0x2008D, 0x20002, 0x20170, 0xF01FF)  # read, write, execute, all
# registry key rights (winnt.h) and the registry's generic mapping (KEY_READ, KEY_WRITE, KEY_EXECUTE, KEY_ALL_ACCESS)
KEY_RIGHTS = (
    (0x1, "query_value"),
    (0x2, "set_value"),
    (0x4, "create_sub_key"),
    (0x8, "enumerate_sub_keys"),
    (0x10, "notify"),
    (0x20, "create_link"),
    (0x100, "wow64_64key"),
    (0x200, "wow64_32key"),
    *STANDARD_RIGHTS,
)
KEY_GENERIC = (0x20019, 0x20006, 0x20019, 0xF003F)
#: rights that let a principal change what a service runs: service object / registry key
SERVICE_WRITE_RIGHTS = 0x2 | WRITE_DAC | WRITE_OWNER
KEY_WRITE_RIGHTS = 0x2 | 0x4 | WRITE_DAC | WRITE_OWNER


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


# ---------------------------------------------------------------- access


class PrincipalAccess(NamedTuple):
    """What one principal named in a DACL may do, evaluated as AccessCheck walks the ACEs.

    A NamedTuple (like RawValue): immutable, cheap, and shared between the records whose
    descriptors are equal."""

    sid: str
    alias: str | None  # SDDL alias (WD, BU, ...) when Windows has one
    name: str | None  # readable account name when known
    role: str  # admin | service | low | other (see hivescan.scm.sids)
    allowed: tuple[str, ...]  # right names granted
    denied: tuple[str, ...]  # right names denied by a deny ACE before any allow
    allowed_mask: int
    denied_mask: int
    deny_ace: bool  # the DACL holds a deny ACE naming this principal
    owner: bool = False  # the descriptor's owner (implicitly holds read_control and write_dac)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "alias": self.alias,
            "name": self.name,
            "role": self.role,
            "allowed": list(self.allowed),
            "denied": list(self.denied),
            "allowed_mask": self.allowed_mask,
            "denied_mask": self.denied_mask,
            "deny_ace": self.deny_ace,
            "owner": self.owner,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrincipalAccess:
        return cls(
            sid=data["sid"],
            alias=data.get("alias"),
            name=data.get("name"),
            role=data.get("role", "other"),
            allowed=tuple(data.get("allowed") or ()),
            denied=tuple(data.get("denied") or ()),
            allowed_mask=int(data.get("allowed_mask") or 0),
            denied_mask=int(data.get("denied_mask") or 0),
            deny_ace=bool(data.get("deny_ace", False)),
            owner=bool(data.get("owner", False)),
        )


def map_generic(mask: int, mapping: tuple[int, int, int, int]) -> int:
    read, write, execute, all_ = mapping
    out = mask & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL)
    if mask & GENERIC_READ:
        out |= read
    if mask & GENERIC_WRITE:
        out |= write
    if mask & GENERIC_EXECUTE:
        out |= execute
    if mask & GENERIC_ALL:
        out |= all_
    return out


@lru_cache(maxsize=4096)
def right_names(mask: int, table: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    names = []
    known = 0
    for bit, name in table:
        known |= bit
        if mask & bit:
            names.append(name)
    rest = mask & ~known
    if rest:
        names.append(f"0x{rest:x}")
    return tuple(names)


def evaluate_access(
    sd: SecurityDescriptor, table: tuple[tuple[int, str], ...], mapping: tuple[int, int, int, int]
) -> tuple[PrincipalAccess, ...]:
    """Per principal of the DACL (and the owner), the rights AccessCheck would grant and deny."""
    return _evaluate(sd.dacl, sd.owner, table, mapping)


@lru_cache(maxsize=4096)
def _evaluate(
    dacl: Acl | None, owner: str | None, table: tuple[tuple[int, str], ...], mapping: tuple[int, int, int, int]
) -> tuple[PrincipalAccess, ...]:
    if dacl is None:  # absent or NULL DACL: no protection at all
        return (_principal("S-1-1-0", mapping[3], 0, False, owner == "S-1-1-0", table),)
    granted: dict[str, int] = {}  # insertion order = first appearance in the DACL
    denied: dict[str, int] = {}
    has_deny: set[str] = set()
    owner_rights = False
    for ace in dacl.aces:
        sid = ace.sid
        if sid == "S-1-3-4":
            owner_rights = True
        if sid is None or ace.flags & INHERIT_ONLY_ACE or ace.type > 0x01:
            continue  # object, callback and unknown ACEs are not evaluated (object ACEs do not apply here)
        if sid not in granted:
            granted[sid] = denied[sid] = 0
        mask = ace.mask
        if mask & 0xF0000000:
            mask = map_generic(mask, mapping)
        if ace.type:
            has_deny.add(sid)
            denied[sid] |= mask & ~granted[sid]
        else:
            granted[sid] |= mask & ~denied[sid]
    if owner is not None and owner not in granted:
        granted[owner] = denied[owner] = 0
    out = []
    for sid, allow in granted.items():
        is_owner = sid == owner
        if is_owner and not owner_rights:  # implicit owner rights (no OWNER RIGHTS ACE)
            allow |= READ_CONTROL | WRITE_DAC
        out.append(_principal(sid, allow, denied[sid] & ~allow, sid in has_deny, is_owner, table))
    return tuple(out)


@lru_cache(maxsize=4096)
def _principal(
    sid: str, allow: int, deny: int, deny_ace: bool, owner: bool, table: tuple[tuple[int, str], ...]
) -> PrincipalAccess:
    name, role = describe_sid(sid)
    alias = sddl_sid(sid)
    return PrincipalAccess(
        sid,
        alias if alias != sid else None,
        name,
        role,
        right_names(allow, table),
        right_names(deny, table),
        allow,
        deny,
        deny_ace,
        owner,
    )


# ---------------------------------------------------------------- decoders


@dataclass(frozen=True, slots=True)
class DecodedSecurity:
    """One descriptor decoded for a kind of object (service or registry key)."""

    sddl: str | None  # None when invalid
    access: tuple[PrincipalAccess, ...] = ()
    valid: bool = False
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    writable_by: tuple[str, ...] = ()  # non-admin principals (SDDL names) holding a write right of the kind
    writable_by_low_privilege: bool = False  # one of them stands for any user


def _ace_data_notes(aces: tuple[Ace, ...], field_name: str) -> list[Diagnostic]:
    """Notes on bytes after ACE SIDs: undecodable conditions/claims, and ignored slack."""
    notes = []
    undecoded = [
        a
        for a in aces
        if a.type in DATA_ACES and a.extra_hex and (a.type == 0x12 or decode_condition(a.application_data) is None)
    ]
    if undecoded:
        notes.append(
            Diagnostic(
                "sd_ace_data_not_decoded",
                field_name,
                f"{len(undecoded)} ACE(s) carry a claim or condition hivescan cannot decode; shown as hex in the SDDL",
            )
        )
    slack = [a for a in aces if a.slack]
    if slack:
        notes.append(
            Diagnostic(
                "sd_ace_slack",
                field_name,
                f"{len(slack)} ACE(s) are longer than their SID; Windows ignores the extra bytes "
                f"(first: {slack[0].slack.hex()})",
                "info",
            )
        )
    return notes


#: roles whose write access is expected (not "non-admin writers")
TRUSTED_ROLES = frozenset({"admin", "placeholder"})


def _decode(data: bytes, field_name: str, table: Any, mapping: Any, write_mask: int) -> DecodedSecurity:
    sd, notes, why = parse_security_descriptor(data)
    diags = [Diagnostic(d.code, f"{field_name} {d.field}".strip(), d.message, d.level) for d in notes]
    if sd is None:
        diags.append(
            Diagnostic(
                "security_descriptor_invalid",
                field_name,
                f"{why}; treated as absent (raw bytes kept)",
                "error",
            )
        )
        return DecodedSecurity(None, (), False, tuple(diags))
    sddl = to_sddl(sd)
    if sd.dacl is None:
        what = "a NULL DACL" if sd.null_dacl else "no DACL"
        diags.append(Diagnostic("sd_no_dacl", field_name, f"{what}: everyone is granted full access"))
    dacl_aces = sd.dacl.aces if sd.dacl is not None else ()
    aces = dacl_aces + sd.sacl.aces if sd.sacl is not None else dacl_aces
    if any(a.extra_hex for a in aces):
        diags += _ace_data_notes(aces, field_name)
    skipped = [a for a in dacl_aces if a.type > 1]
    if skipped:
        kinds = sorted({_SIMPLE_ACES.get(a.type) or _OBJECT_ACES.get(a.type) or f"0x{a.type:x}" for a in skipped})
        diags.append(
            Diagnostic(
                "sd_ace_not_evaluated",
                field_name,
                f"{len(skipped)} DACL ACE(s) of type {', '.join(kinds)} are not part of the access summary",
                "info",
            )
        )
    if any(a.mask & 0xF0000000 and a.type <= 1 and not a.flags & INHERIT_ONLY_ACE for a in dacl_aces):
        diags.append(
            Diagnostic(
                "sd_generic_rights",
                field_name,
                "an effective ACE holds generic rights (normally mapped when the descriptor is set); "
                "mapped with the object's generic mapping for the access summary",
                "info",
            )
        )
    access = evaluate_access(sd, table, mapping)
    writers = [p for p in access if p.allowed_mask & write_mask and p.role not in TRUSTED_ROLES]
    return DecodedSecurity(
        sddl,
        access,
        True,
        tuple(diags),
        tuple(sddl_sid(p.sid) for p in writers),
        any(p.role == "low" for p in writers),
    )


@lru_cache(maxsize=4096)
def service_security(data: bytes) -> DecodedSecurity:
    """Memoized :func:`decode_service_security` returning the shared result (diagnostics inside)."""
    return _decode(data, "Security\\Security", SERVICE_RIGHTS, SERVICE_GENERIC, SERVICE_WRITE_RIGHTS)


@lru_cache(maxsize=4096)
def key_security(data: bytes) -> DecodedSecurity:
    """Memoized :func:`decode_key_security` returning the shared result (diagnostics inside)."""
    return _decode(data, "key security", KEY_RIGHTS, KEY_GENERIC, KEY_WRITE_RIGHTS)


def decode_service_security(data: bytes) -> tuple[DecodedSecurity, list[Diagnostic]]:
    """The ``Security\\Security`` value: SDDL and per-principal service rights.

    Memoized by the bytes: the same descriptor repeats across hundreds of services.
    """
    decoded = service_security(bytes(data))
    return decoded, list(decoded.diagnostics)


def decode_key_security(data: bytes) -> tuple[DecodedSecurity, list[Diagnostic]]:
    """A key's own registry security (its ``sk`` cell): SDDL and per-principal key rights."""
    decoded = key_security(bytes(data))
    return decoded, list(decoded.diagnostics)


__all__ = [
    "KEY_WRITE_RIGHTS",
    "SERVICE_WRITE_RIGHTS",
    "Ace",
    "Acl",
    "DecodedSecurity",
    "PrincipalAccess",
    "SecurityDescriptor",
    "decode_key_security",
    "decode_service_security",
    "evaluate_access",
    "key_security",
    "parse_security_descriptor",
    "rights_sddl",
    "sdshow_part",
    "service_security",
    "to_sddl",
]
