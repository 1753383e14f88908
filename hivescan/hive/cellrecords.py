"""What regf cells hold, as records: key (nk) and value (vk) cells, their flag bits, name decoding.

Kept apart from the reader (:class:`hivescan.hive.cells.Cells`) because the compiled walks,
the log replay and the service rebuild use these facts without reading cells themselves.

Reference: msuhanov/regf specification (cells, nk, vk, sk, lf/lh/li/ri, db).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import NamedTuple

KEY_COMP_NAME = 0x0020
KEY_SYM_LINK = 0x0010
VALUE_COMP_NAME = 0x0001
VALUE_TOMBSTONE = 0x0002  # Windows 10 RS1+, differencing hives: the value deletes the one below
LAYER_SEMANTICS = ("none", "tombstone", "supersede_local", "supersede_tree")  # nk layered bits 0-1
LAYER_INHERIT_CLASS = 0x80
BIG_DATA_SEGMENT = 16344
NO_OFFSET = 0xFFFFFFFF
# bytes per entry of each kind of subkey list: lf/lh hold (key cell, name hint or hash)
SUBKEY_LIST_WIDTH = {b"lf": 8, b"lh": 8, b"li": 4, b"ri": 4}
_utf16_le_decode = codecs.utf_16_le_decode


class CellError(Exception):
    """A cell could not be read as what it was expected to be."""


class NkCell(NamedTuple):
    offset: int  # cell offset, relative to the start of the hive bins
    allocated: bool
    flags: int
    last_write: int
    parent: int
    subkey_count: int
    volatile_subkey_count: int
    subkey_list: int
    value_count: int
    value_list: int
    security: int
    class_offset: int
    class_length: int
    name: str
    name_raw: bytes
    layered: int  # the layered-key bit fields (differencing hives): semantics in bits 0-1, 0x80 inherit class


def layer_semantics(nk: NkCell) -> str:
    """What a key of a differencing hive does to the key below it (its layered-key bits).

    ``tombstone``: the key is deleted in this layer; ``supersede_local``: the key replaces the
    one below (its values), ``supersede_tree``: and its whole subtree; ``none``: merged with it.
    """
    return LAYER_SEMANTICS[nk.layered & 3]


@dataclass(slots=True)
class VkCell:
    offset: int
    name: str
    name_raw: bytes
    type: int
    data: bytes
    declared_size: int  # the data size the vk states (inline bit removed)
    inline: bool
    big_data: bool
    notes: tuple[str, ...]  # how the data had to be read (truncated, capped, ...)


def decode_utf16(data: bytes) -> str:
    """UTF-16LE text with lone surrogates kept (``surrogatepass``), as ``bytes.decode`` gives
    it (UnicodeDecodeError on an odd length).

    Calls the codec function itself: ``bytes.decode("utf-16-le", ...)`` finds it through the
    codec registry and a Python-level wrapper on every call, four times slower, and a
    rebuild decodes thousands of strings.
    """
    return _utf16_le_decode(data, "surrogatepass", True)[0]


def decode_name(raw: bytes, compressed: bool) -> str:
    """Key/value names: Latin-1 when flagged compressed, else UTF-16LE (lone surrogates kept)."""
    if compressed:
        return raw.decode("latin-1")
    if len(raw) % 2:
        raw = raw[:-1]
    return decode_utf16(raw)
