"""SDDL text -> self-relative security descriptor bytes: the encoder twin of ``hivescan.scm.descriptor``.

Lets fixture specs say ``security: {sddl: "O:BAG:SYD:(A;;KA;;;BA)..."}`` and lets tests check
that what the decoder prints encodes back to the same bytes. Accepts the SDDL the decoder
writes: owner, group, ``D:``/``S:`` with P/AR/AI flags or ``NO_ACCESS_CONTROL``, ACEs with
aliases or ``S-1-...`` SIDs, rights as names or ``0x`` hex, object GUIDs, and application
data given as ``hex:...``. Conditional expressions in text form are not encoded (give their
bytes as ``hex:``); ``0x`` ACE types and flags write what they say.

Layout written: SACL, DACL, owner, group (Windows' usual order); ACL revision 4 when an
object ACE is present, else 2.
"""

from __future__ import annotations

import re
import struct
import uuid

from hivescan.scm.descriptor import (
    _OBJECT_ACES,
    ACE_FLAGS,
    ACE_TYPE_CODES,
    ACL_FLAG_TOKENS,
    BIT_RIGHTS,
    DACL_FLAG_BITS,
    LABEL_RIGHTS,
    SACL_FLAG_BITS,
    SE_DACL_PRESENT,
    SE_SACL_PRESENT,
    WHOLE_RIGHTS,
)
from hivescan.scm.sids import ALIAS_TO_SID
from hivescan.testing.regf import security_descriptor, sid_bytes


class SddlError(ValueError):
    """The SDDL string is malformed; the message says where."""


_RIGHT_TOKENS: dict[str, int] = {**{name: 1 << bit for bit, name in BIT_RIGHTS.items()}, **dict(WHOLE_RIGHTS)}
_LABEL_TOKENS = {name: bit for bit, name in LABEL_RIGHTS}
_FLAG_TOKENS = dict(ACE_FLAGS)
_PART = re.compile(r"([OGDS]):")


def _sid(text: str) -> str:
    """A SID string (aliases resolved), checked by encoding it."""
    text = text.strip()
    sid = ALIAS_TO_SID.get(text.upper(), text)
    if not sid.upper().startswith("S-"):
        raise SddlError(f"unknown SID alias {text!r}")
    try:
        blob = sid_bytes(sid)
    except (ValueError, OverflowError, struct.error) as exc:
        raise SddlError(f"{text!r} is not a SID: {exc}") from exc
    if blob[1] > 15:
        raise SddlError(f"{text!r} has more than 15 sub-authorities")
    return sid


def _tokens(text: str, table: dict[str, int], what: str) -> int:
    value = 0
    rest = text
    while rest:
        if rest[:2].lower() == "0x":
            try:
                value |= int(rest, 16)
            except ValueError as exc:
                raise SddlError(f"bad hex {what} {rest!r}") from exc
            break
        token = rest[:2]
        if token not in table:
            raise SddlError(f"unknown {what} {token!r} in {text!r}")
        value |= table[token]
        rest = rest[2:]
    return value


def _rights(text: str, ace_type: int) -> int:
    if ace_type == 0x11 and text and all(text[i : i + 2] in _LABEL_TOKENS for i in range(0, len(text), 2)):
        return _tokens(text, _LABEL_TOKENS, "label right")
    return _tokens(text, _RIGHT_TOKENS, "right")


def _ace(body: str) -> tuple[bytes, bool]:
    """One ACE's bytes and whether it is an object ACE."""
    fields = body.split(";")
    if len(fields) < 6:
        raise SddlError(f"ACE ({body}) needs 6 fields")
    kind, flags_text, rights_text, object_type, inherited_type, sid_text = fields[:6]
    extra = ";".join(fields[6:])
    if kind.lower().startswith("0x"):
        ace_type = _tokens(kind, {}, "ACE type")
    elif kind in ACE_TYPE_CODES:
        ace_type = ACE_TYPE_CODES[kind]
    else:
        raise SddlError(f"unknown ACE type {kind!r}")
    flags = _tokens(flags_text, _FLAG_TOKENS, "ACE flag")
    mask = _rights(rights_text, ace_type)
    if ace_type > 0xFF or flags > 0xFF or mask > 0xFFFFFFFF:
        raise SddlError(f"ACE ({body}): type, flags or rights out of range")
    if extra and not extra.startswith("hex:"):
        raise SddlError(f"ACE ({body}): conditions/claims must be given as hex:... bytes")
    try:
        data = bytes.fromhex(extra[4:]) if extra else b""
    except ValueError as exc:
        raise SddlError(f"ACE ({body}): bad hex data") from exc
    is_object = ace_type in _OBJECT_ACES
    body_bytes = struct.pack("<I", mask)
    if is_object:
        guid_flags = (1 if object_type else 0) | (2 if inherited_type else 0)
        body_bytes += struct.pack("<I", guid_flags)
        for guid in (object_type, inherited_type):
            if guid:
                try:
                    body_bytes += uuid.UUID(guid).bytes_le
                except ValueError as exc:
                    raise SddlError(f"ACE ({body}): {guid!r} is not a GUID") from exc
    if sid_text:
        body_bytes += sid_bytes(_sid(sid_text))
    body_bytes += data
    return struct.pack("<BBH", ace_type, flags, 4 + len(body_bytes)) + body_bytes, is_object


def _acl(text: str, flag_bits: tuple[int, int, int]) -> tuple[bytes | None, int]:
    """(ACL bytes or None for NO_ACCESS_CONTROL, control bits) of a ``D:``/``S:`` part."""
    control = 0
    head = text.split("(", 1)[0]
    if head.endswith("NO_ACCESS_CONTROL"):
        if "(" in text:
            raise SddlError("NO_ACCESS_CONTROL with ACEs")
        head, null = head[:-17], True
    else:
        null = False
    rest = head
    while rest:
        for token, bit in zip(ACL_FLAG_TOKENS, flag_bits):
            if rest.startswith(token):
                control |= bit
                rest = rest[len(token) :]
                break
        else:
            raise SddlError(f"unknown ACL flag in {head!r}")
    if null:
        return None, control
    aces = re.findall(r"\(([^()]*)\)", text[len(head) :])
    if "".join(f"({a})" for a in aces) != text[len(head) :]:
        raise SddlError(f"cannot read the ACEs of {text!r}")
    built = [_ace(a) for a in aces]
    revision = 4 if any(obj for _, obj in built) else 2
    body = b"".join(b for b, _ in built)
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(built), 0) + body, control


def sddl_to_bytes(sddl: str) -> bytes:
    """A self-relative SECURITY_DESCRIPTOR for an SDDL string."""
    text = "".join(sddl.split())
    tags = [(m.start(), m.group(1)) for m in _PART.finditer(text) if _outside_aces(text, m.start())]
    if text and (not tags or tags[0][0] != 0):
        raise SddlError(f"cannot parse {sddl!r}: it must start with O:, G:, D: or S:")
    parts: dict[str, str] = {}
    for index, (start, tag) in enumerate(tags):
        end = tags[index + 1][0] if index + 1 < len(tags) else len(text)
        if tag in parts:
            raise SddlError(f"{tag}: appears twice in {sddl!r}")
        parts[tag] = text[start + 2 : end]
    control = 0
    owner = _sid(parts["O"]) if "O" in parts else None
    group = _sid(parts["G"]) if "G" in parts else None
    dacl = sacl = None
    if "D" in parts:
        dacl, bits = _acl(parts["D"], DACL_FLAG_BITS)
        control |= SE_DACL_PRESENT | bits  # present even when NULL (NO_ACCESS_CONTROL)
    if "S" in parts:
        sacl, bits = _acl(parts["S"], SACL_FLAG_BITS)
        control |= SE_SACL_PRESENT | bits
    return security_descriptor(owner, group, dacl, sacl, control=control)


def _outside_aces(text: str, pos: int) -> bool:
    """A ``X:`` at ``pos`` starts a new part unless it sits inside an ACE's parentheses."""
    depth = 0
    for ch in text[:pos]:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
    return depth == 0


__all__ = ["SddlError", "sddl_to_bytes"]
