"""The two descriptors of a service decoded: SDDL, per-principal access, diagnostics.

``service_security`` / ``decode_service_security``: the ``Security\\Security`` value, with
service rights (query config, change config, start, stop, delete ...). ``key_security`` /
``decode_key_security``: the service key's own registry security (``sk`` cell), with key
rights and the non-admin principals that may change the key (T1574.011). An invalid
descriptor is reported and treated as absent. Both are memoized by their bytes: the same
descriptors repeat across hundreds of services.

References: scm-spec.md §4.3; detections.md §1.7 (#61-63).
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.scm.access import (
    KEY_GENERIC,
    KEY_RIGHTS,
    KEY_WRITE_RIGHTS,
    SERVICE_GENERIC,
    SERVICE_RIGHTS,
    SERVICE_WRITE_RIGHTS,
    PrincipalAccess,
    evaluate_access,
)
from hivescan.scm.conditions import decode_condition
from hivescan.scm.descriptor import (
    _OBJECT_ACES,
    _SIMPLE_ACES,
    DATA_ACES,
    INHERIT_ONLY_ACE,
    Ace,
    SecurityDescriptor,
    parse_security_descriptor,
    to_sddl,
)
from hivescan.scm.sids import sddl_sid

# ---------------------------------------------------------------- decoders


class _Kind(NamedTuple):
    field: str  # where diagnostics point
    rights: tuple[tuple[int, str], ...]
    generic: tuple[int, int, int, int]
    write_mask: int  # rights that let a principal change what the service runs


SERVICE = _Kind("Security\\Security", SERVICE_RIGHTS, SERVICE_GENERIC, SERVICE_WRITE_RIGHTS)
KEY = _Kind("key security", KEY_RIGHTS, KEY_GENERIC, KEY_WRITE_RIGHTS)
#: roles whose write access is expected (not "non-admin writers")
TRUSTED_ROLES = frozenset({"admin", "placeholder"})


class DecodedSecurity:
    """One descriptor decoded for a kind of object (service or registry key).

    Parsing and its diagnostics happen when it is made; the SDDL text and the access
    summary are rendered on first use and kept (an instance is shared, through the memo,
    by every record holding the same bytes), so rebuilding a database does not pay for
    renderings nobody reads.
    """

    __slots__ = ("__dict__", "descriptor", "diagnostics", "kind")

    def __init__(self, descriptor: SecurityDescriptor | None, diagnostics: tuple[Diagnostic, ...], kind: _Kind):
        self.descriptor = descriptor  # None when invalid (treated as absent)
        self.diagnostics = diagnostics
        self.kind = kind

    def __repr__(self) -> str:
        return f"DecodedSecurity({self.sddl!r})"

    @property
    def valid(self) -> bool:
        return self.descriptor is not None

    @cached_property
    def sddl(self) -> str | None:
        return to_sddl(self.descriptor) if self.descriptor is not None else None

    @cached_property
    def access(self) -> tuple[PrincipalAccess, ...]:
        """Per principal of the DACL (and the owner): the rights of this kind it holds and is denied."""
        if self.descriptor is None:
            return ()
        return evaluate_access(self.descriptor, self.kind.rights, self.kind.generic)

    @cached_property
    def _writers(self) -> tuple[PrincipalAccess, ...]:
        mask = self.kind.write_mask
        return tuple(p for p in self.access if p.allowed_mask & mask and p.role not in TRUSTED_ROLES)

    @property
    def writable_by(self) -> tuple[str, ...]:
        """Non-admin principals (SDDL names) holding a right that changes what runs."""
        return tuple(sddl_sid(p.sid) for p in self._writers)

    @property
    def writable_by_low_privilege(self) -> bool:
        """One of them stands for any user (Everyone, Users, Authenticated Users, Interactive ...)."""
        return any(p.role == "low" for p in self._writers)


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


def _decode(data: bytes, kind: _Kind) -> DecodedSecurity:
    field_name = kind.field
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
        return DecodedSecurity(None, tuple(diags), kind)
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
    return DecodedSecurity(sd, tuple(diags), kind)


@lru_cache(maxsize=4096)
def service_security(data: bytes) -> DecodedSecurity:
    """Memoized :func:`decode_service_security` returning the shared result (diagnostics inside)."""
    return _decode(data, SERVICE)


@lru_cache(maxsize=4096)
def key_security(data: bytes) -> DecodedSecurity:
    """Memoized :func:`decode_key_security` returning the shared result (diagnostics inside)."""
    return _decode(data, KEY)


@lru_cache(maxsize=4096)
def service_security_hex(hex_text: str) -> DecodedSecurity:
    """:func:`service_security` of a record's ``security_hex`` (memoized by the text)."""
    return _from_hex(hex_text, SERVICE)


@lru_cache(maxsize=4096)
def key_security_hex(hex_text: str) -> DecodedSecurity:
    """:func:`key_security` of a record's ``key_security_hex`` (memoized by the text)."""
    return _from_hex(hex_text, KEY)


def _from_hex(hex_text: str, kind: _Kind) -> DecodedSecurity:
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        note = Diagnostic("security_descriptor_invalid", kind.field, "the stored hex is not hex", "error")
        return DecodedSecurity(None, (note,), kind)
    return service_security(data) if kind is SERVICE else key_security(data)


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
    "TRUSTED_ROLES",
    "DecodedSecurity",
    "decode_key_security",
    "decode_service_security",
    "key_security",
    "key_security_hex",
    "service_security",
    "service_security_hex",
]
