"""Who may do what: a DACL evaluated per principal, the way AccessCheck walks it.

ACEs are taken in order, inherit-only ACEs skipped; a deny ACE denies the bits not granted
yet and an allow ACE grants the bits not denied yet -- so a deny placed before an allow wins
and one placed after it does not. Each principal named in the DACL is evaluated on its own
(as a token holding only that SID; group memberships are unknown offline), generic bits are
mapped with the object's generic mapping (services or registry keys), and the owner holds
READ_CONTROL and WRITE_DAC implicitly unless an OWNER RIGHTS ACE is present. A missing or
NULL DACL grants everyone everything.

References: scm-spec.md §4.3; detections.md §1.7 (#61-63); "Service Security and Access Rights".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from hivescan.scm.descriptor import INHERIT_ONLY_ACE, Acl, SecurityDescriptor
from hivescan.scm.sids import describe_sid, sddl_sid

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


__all__ = [
    "KEY_GENERIC",
    "KEY_RIGHTS",
    "KEY_WRITE_RIGHTS",
    "SERVICE_GENERIC",
    "SERVICE_RIGHTS",
    "SERVICE_WRITE_RIGHTS",
    "PrincipalAccess",
    "evaluate_access",
    "map_generic",
    "right_names",
]
