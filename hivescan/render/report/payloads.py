"""Decode the payloads an analyst would otherwise decode by hand: PowerShell's
``-EncodedCommand`` (base64 of UTF-16LE text) and, inside the script it hides, base64
literals given to ``FromBase64String`` (often gzip- or deflate-compressed).

Pure and bounded: the raw text is always kept beside what was decoded, a layer that does not
decode cleanly says so (``note``) instead of being dropped or guessed, and decompression stops
at :data:`MAX_DECODED` bytes (noted). Used by the case-file report only; the records and
findings keep their raw values untouched.

References: Microsoft, about_PowerShell_exe (-EncodedCommand accepts any unambiguous prefix
of the parameter name, and -ec).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import NamedTuple

MAX_DECODED = 1 << 20  # decompressed bytes kept per layer
MAX_DEPTH = 3  # -enc -> FromBase64String -> FromBase64String inside that

_SWITCH = re.compile(r"""(?i)(?<![\w-])[-/](\w+)[\s:]+["']?([A-Za-z0-9+/]{8,}={0,2})""")
_LITERAL = re.compile(r"""(?i)FromBase64String\(\s*["']([A-Za-z0-9+/\s]{8,}={0,2})["']\s*\)""")


class Payload(NamedTuple):
    """One decoded layer: where it was found, the raw base64, what it decodes to, and how."""

    source: str  # e.g. "image_path -EncodedCommand", "layer 1 FromBase64String"
    raw: str  # the base64 text as found
    decoded: str  # the text it decodes to (hex when it is not text)
    how: str  # utf-16le, gzip+utf-8, deflate+utf-8, utf-8, hex
    note: str = ""  # what did not decode cleanly, truncation


def _is_encoded_command(switch: str) -> bool:
    word = switch.lower()
    return word == "ec" or (word.startswith("e") and "encodedcommand".startswith(word))


def _b64(text: str) -> tuple[bytes | None, str]:
    compact = "".join(text.split())  # Convert.FromBase64String skips white space, and nothing else
    try:
        return base64.b64decode(compact, validate=True), ""
    except (binascii.Error, ValueError) as exc:
        return None, f"not valid base64 ({exc})"


def _inflate(data: bytes) -> tuple[bytes | None, str, str]:
    """gzip or raw deflate (what PowerShell's GZipStream/DeflateStream read), bounded."""
    for how, wbits in (("gzip", 31), ("deflate", -15), ("zlib", 15)):
        if how == "gzip" and not data.startswith(b"\x1f\x8b"):
            continue
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(data, MAX_DECODED)
        except zlib.error:
            continue
        if how != "gzip" and not inflater.eof:
            continue  # a few bytes that happen to inflate are not a deflate stream
        note = f"decompressed output cut at {MAX_DECODED} bytes" if inflater.unconsumed_tail else ""
        return out, how, note
    return None, "", ""


def _as_text(data: bytes, prefer_utf16: bool) -> tuple[str, str, str]:
    """(text, encoding, note): UTF-16LE for -EncodedCommand, else UTF-8; hex when neither."""
    order = ("utf-16-le", "utf-8") if prefer_utf16 else ("utf-8", "utf-16-le")
    for encoding in order:
        if encoding == "utf-16-le" and (len(data) % 2 or not (prefer_utf16 or _looks_utf16(data))):
            continue  # almost any even-length bytes "decode" as UTF-16: only text-like ones are read so
        try:
            return data.decode(encoding), encoding.replace("-le", "le"), ""
        except UnicodeDecodeError:
            continue
    return data.hex(), "hex", "not UTF-16LE or UTF-8 text: shown as hex"


def _looks_utf16(data: bytes) -> bool:
    """UTF-16LE of mostly Latin text: at least 90% of the high bytes are zero."""
    high = data[1::2]
    return bool(high) and high.count(0) >= 0.9 * len(high)


def _layer(source: str, raw: str, prefer_utf16: bool) -> Payload:
    data, problem = _b64(raw)
    if data is None:
        return Payload(source, raw, "", "none", problem)
    inflated, how, note = _inflate(data) if not prefer_utf16 else (None, "", "")
    if inflated is not None:
        text, encoding, text_note = _as_text(inflated, prefer_utf16=False)
        return Payload(source, raw, text, f"{how}+{encoding}", "; ".join(n for n in (note, text_note) if n))
    text, encoding, text_note = _as_text(data, prefer_utf16)
    return Payload(source, raw, text, encoding, text_note)


def decode_payloads(field: str, text: str | None) -> list[Payload]:
    """Every encoded payload in ``text`` (a record field named ``field``), outermost first."""
    if not text:
        return []
    found: list[Payload] = []
    for match in _SWITCH.finditer(text):
        if _is_encoded_command(match.group(1)):
            layer = _layer(f"{field} -{match.group(1)}", match.group(2), prefer_utf16=True)
            found.append(layer)
            found += _nested(layer, 1)
    return found


def _nested(parent: Payload, depth: int) -> list[Payload]:
    if depth > MAX_DEPTH or not parent.decoded or parent.how in ("hex", "none"):
        return []
    out: list[Payload] = []
    for match in _LITERAL.finditer(parent.decoded):
        layer = _layer(f"layer {depth} FromBase64String", match.group(1), prefer_utf16=False)
        out.append(layer)
        out += _nested(layer, depth + 1)
    return out


__all__ = ["MAX_DECODED", "Payload", "decode_payloads"]
