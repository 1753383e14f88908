"""Conditional-ACE expressions (callback ACEs) from their binary form to SDDL text.

Windows 8+ service descriptors carry conditional ACEs (``XA``) such as
``(XA;;LCRPWP;;;IU;(!(WIN://ISMULTISESSIONSKU)))`` on ``lfsvc``. The condition is stored
after the SID as ``artx`` plus a postfix (RPN) token stream; this module turns it back into
the infix text of SDDL. Anything it does not recognise returns None and the caller shows
the bytes as hex with a diagnostic -- a condition is never guessed.

Formatting (heuristic where MS-DTYP leaves it open): every operation is parenthesised,
strings are double-quoted, SIDs print as ``SID(alias)``, composites as ``{a, b}``.

References: MS-DTYP 2.4.4.17 (conditional ACE binary format), 2.5.1.1 (SDDL syntax);
scm-spec.md §4.3.
"""

from __future__ import annotations

import struct

from hivescan.scm.sids import sddl_sid

MAX_TOKENS = 4096  # bound on the token loop; real conditions hold a handful

_BINARY = {
    0x80: "==",
    0x81: "!=",
    0x82: "<",
    0x83: "<=",
    0x84: ">",
    0x85: ">=",
    0x86: "Contains",
    0x88: "Any_of",
    0x8E: "Not_Contains",
    0x8F: "Not_Any_of",
    0xA0: "&&",
    0xA1: "||",
}
_UNARY = {
    0x87: "Exists",
    0x8D: "Not_Exists",
    0x89: "Member_of",
    0x8A: "Device_Member_of",
    0x8B: "Member_of_Any",
    0x8C: "Device_Member_of_Any",
    0x90: "Not_Member_of",
    0x91: "Not_Device_Member_of",
    0x92: "Not_Member_of_Any",
    0x93: "Not_Device_Member_of_Any",
}
_ATTRIBUTE_PREFIX = {0xF8: "", 0xF9: "@User.", 0xFA: "@Resource.", 0xFB: "@Device."}


class _Bad(Exception):
    pass


def _sid_text(blob: bytes) -> str:
    if len(blob) < 8 or blob[0] != 1 or len(blob) != 8 + 4 * blob[1]:
        raise _Bad
    authority = int.from_bytes(blob[2:8], "big")
    subs = struct.unpack_from(f"<{blob[1]}I", blob, 8)
    return sddl_sid("-".join(("S-1", str(authority), *map(str, subs))))


def _literal(data: bytes, pos: int, token: int) -> tuple[str, int]:
    """One literal operand starting after its token byte; returns (text, next position)."""
    if 0x01 <= token <= 0x04:  # signed integers: 8-byte value, sign byte, base byte
        if pos + 10 > len(data):
            raise _Bad
        value = struct.unpack_from("<q", data, pos)[0]
        base = data[pos + 9]
        text = {1: f"0{value:o}", 3: f"0x{value:x}"}.get(base, str(value))
        return text, pos + 10
    if pos + 4 > len(data):
        raise _Bad
    length = struct.unpack_from("<I", data, pos)[0]
    start, end = pos + 4, pos + 4 + length
    if end > len(data):
        raise _Bad
    blob = data[start:end]
    if token == 0x10:
        if length % 2:
            raise _Bad
        return '"' + blob.decode("utf-16-le", "surrogatepass") + '"', end
    if token == 0x18:
        return "#" + blob.hex(), end
    if token == 0x51:
        return f"SID({_sid_text(blob)})", end
    if token == 0x50:
        items: list[str] = []
        inner = 0
        while inner < len(blob):
            item_token = blob[inner]
            if item_token not in (0x01, 0x02, 0x03, 0x04, 0x10, 0x18, 0x51):
                raise _Bad
            text, inner = _literal(blob, inner + 1, item_token)
            items.append(text)
        return "{" + ", ".join(items) + "}", end
    if token in _ATTRIBUTE_PREFIX:
        if length % 2:
            raise _Bad
        return _ATTRIBUTE_PREFIX[token] + blob.decode("utf-16-le", "surrogatepass"), end
    raise _Bad


def _wrap(text: str) -> str:
    return text if text.startswith("(") else f"({text})"


def decode_condition(data: bytes) -> str | None:
    """SDDL text of an ``artx`` condition, or None when it is not one hivescan can read."""
    if not data.startswith(b"artx"):
        return None
    stack: list[str] = []
    pos = 4
    try:
        for _ in range(MAX_TOKENS):
            if pos >= len(data):
                break
            token = data[pos]
            pos += 1
            if token == 0x00:
                if data[pos:].strip(b"\0"):
                    raise _Bad  # padding must run to the end
                break
            if token in _BINARY:
                if len(stack) < 2:
                    raise _Bad
                right, left = stack.pop(), stack.pop()
                stack.append(f"({left} {_BINARY[token]} {right})")
            elif token in _UNARY:
                if not stack:
                    raise _Bad
                stack.append(f"({_UNARY[token]} {stack.pop()})")
            elif token == 0xA2:
                if not stack:
                    raise _Bad
                stack.append(f"(!{_wrap(stack.pop())})")
            else:
                text, pos = _literal(data, pos, token)
                stack.append(text)
        else:
            raise _Bad
    except (_Bad, UnicodeDecodeError, struct.error):
        return None
    if len(stack) != 1:
        return None
    return _wrap(stack[0])


__all__ = ["decode_condition"]
