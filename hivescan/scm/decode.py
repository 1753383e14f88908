"""Decoders of plain registry values, read the way the SCM reads them.

Pure functions: bytes in, ``(value, diagnostics)`` out; they never raise on bad data.
The *effective* value is what Windows' consumers see; anything beyond it (data after a NUL,
items after an empty multi-string item, odd trailing bytes) is kept and reported.

References: scm-spec.md §9.2 (value reading rules), §4.5 (string encoding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import decode_utf16
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import (
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    reg_type_name,
)
from hivescan.textsafe import quoted

STRING_TYPES = (REG_SZ, REG_EXPAND_SZ)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a valid pair decodes to one astral char


def _reencoded(field: str, value: RawValue) -> list[Diagnostic]:
    if value.exact:
        return []
    return [
        Diagnostic(
            "value_reencoded",
            field,
            f"the cell reader could not read this value; bytes re-encoded from {value.reader}'s decoded form",
        )
    ]


def decode_dword(field: str, value: RawValue) -> tuple[int | None, list[Diagnostic]]:
    """Read a DWORD like RegQueryValueEx into a 4-byte buffer (no type check).

    More than 4 bytes does not fit: the SCM sees ERROR_MORE_DATA, i.e. a missing value.
    """
    data = value.data
    if value.type == REG_DWORD and len(data) == 4 and value.exact:
        return int.from_bytes(data, "little"), []  # the clean case, no notes
    diags = _reencoded(field, value)
    if len(data) > 4:
        diags.append(
            Diagnostic(
                "dword_too_long",
                field,
                f"{len(data)} bytes of {reg_type_name(value.type)}; "
                "the SCM's 4-byte read fails, so it counts as missing",
                "error",
            )
        )
        return None, diags
    if value.type == REG_DWORD_BIG_ENDIAN:
        diags.append(
            Diagnostic("dword_big_endian", field, "stored as REG_DWORD_BIG_ENDIAN; read little-endian as the API does")
        )
    elif value.type != REG_DWORD:
        diags.append(Diagnostic("type_mismatch", field, f"stored as {reg_type_name(value.type)}, read as a DWORD"))
    if len(data) < 4:
        diags.append(Diagnostic("dword_short_data", field, f"{len(data)} byte(s), zero-extended"))
    return int.from_bytes(data.ljust(4, b"\0"), "little"), diags


@dataclass(frozen=True, slots=True)
class DecodedString:
    value: str  # the effective string (up to the first NUL)
    hidden_tail: str | None  # readable data after the first NUL, if any


def _utf16(data: bytes, field: str, diags: list[Diagnostic]) -> str:
    if len(data) % 2:
        diags.append(
            Diagnostic(
                "odd_length", field, f"{len(data)} bytes; the last byte 0x{data[-1]:02x} is not part of the text"
            )
        )
        data = data[:-1]
    text = decode_utf16(data)
    if not text.isascii() and _LONE_SURROGATE.search(text):
        diags.append(
            Diagnostic("invalid_utf16", field, "contains unpaired UTF-16 surrogates (kept, escaped in output)")
        )
    return text


def decode_string(field: str, value: RawValue) -> tuple[DecodedString, list[Diagnostic]]:
    """REG_SZ/REG_EXPAND_SZ text as Win32 consumers see it (up to the first NUL)."""
    data = value.data
    if value.type in STRING_TYPES and value.exact and not len(data) % 2 and data.endswith(b"\0\0"):
        text = decode_utf16(data[:-2])
        if "\0" not in text and (text.isascii() or not _LONE_SURROGATE.search(text)):
            return DecodedString(text, None), []  # the clean case: one terminator, nothing after it
    diags = _reencoded(field, value)
    if value.type not in STRING_TYPES:
        note = " (first item, as a C string)" if value.type == REG_MULTI_SZ else ""
        diags.append(Diagnostic("type_mismatch", field, f"stored as {reg_type_name(value.type)}, read as text{note}"))
    text = _utf16(value.data, field, diags)
    nul = text.find("\0")
    if nul < 0:
        if value.data:
            diags.append(Diagnostic("unterminated", field, "no NUL terminator; the whole buffer is the value", "info"))
        return DecodedString(text, None), diags
    effective, rest = text[:nul], text[nul + 1 :]
    tail = rest.rstrip("\0")
    if tail:
        diags.append(
            Diagnostic(
                "hidden_tail",
                field,
                f"{len(tail)} character(s) after the NUL terminator, invisible to Windows: {quoted(tail[:120])}",
            )
        )
        return DecodedString(effective, tail), diags
    return DecodedString(effective, None), diags


@dataclass(frozen=True, slots=True)
class DecodedMulti:
    items: tuple[str, ...]  # what the SCM sees (the list ends at the first empty string)
    hidden_items: tuple[str, ...]  # non-empty items after that empty string


def decode_multi_sz(field: str, value: RawValue) -> tuple[DecodedMulti, list[Diagnostic]]:
    """REG_MULTI_SZ as consumers see it; REG_SZ/REG_EXPAND_SZ count as a one-item list."""
    data = value.data
    if value.type == REG_MULTI_SZ and value.exact and not len(data) % 2 and data.endswith(b"\0\0\0\0"):
        text = decode_utf16(data[:-4])
        if "\0\0" not in text and not text.startswith("\0") and (text.isascii() or not _LONE_SURROGATE.search(text)):
            return DecodedMulti(tuple(text.split("\0")) if text else (), ()), []  # the clean case
    diags = _reencoded(field, value)
    if value.type in STRING_TYPES:
        decoded, more = decode_string(field, RawValue(value.name, value.type, value.data, value.reader, True))
        diags += more
        diags.append(
            Diagnostic(
                "type_mismatch", field, f"stored as {reg_type_name(value.type)}, read as a one-item list", "info"
            )
        )
        return DecodedMulti((decoded.value,) if decoded.value else (), ()), diags
    if value.type != REG_MULTI_SZ:
        diags.append(Diagnostic("type_mismatch", field, f"stored as {reg_type_name(value.type)}, read as REG_MULTI_SZ"))
    text = _utf16(value.data, field, diags)
    if text and not text.endswith("\0\0") and text != "\0":
        diags.append(Diagnostic("multi_sz_unterminated", field, "missing the final double NUL", "info"))
    parts = text.split("\0")
    items: list[str] = []
    index = 0
    while index < len(parts) and parts[index] != "":
        items.append(parts[index])
        index += 1
    hidden = tuple(p for p in parts[index + 1 :] if p)
    if hidden:
        diags.append(
            Diagnostic(
                "multi_sz_hidden_items",
                field,
                f"{len(hidden)} item(s) after an empty string, invisible to the SCM: "
                f"[{', '.join(quoted(h) for h in list(hidden)[:10])}]",
            )
        )
    return DecodedMulti(tuple(items), hidden), diags


def decode_binary(field: str, value: RawValue) -> tuple[bytes, list[Diagnostic]]:
    """Binary values are parsed whatever their type; a wrong type is reported."""
    diags = _reencoded(field, value)
    if value.type != REG_BINARY:
        diags.append(
            Diagnostic("type_mismatch", field, f"stored as {reg_type_name(value.type)}, parsed as binary", "info")
        )
    return value.data, diags
