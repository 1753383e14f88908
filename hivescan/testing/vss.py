"""Write Volume Shadow Copies into an NTFS volume image, for tests (Windows is not needed).

Why it exists: shadow copies are where older SYSTEM hives survive, and hivescan must read
them -- but only Windows creates them, and downloading a sample image is not allowed in
tests. A shadow copy is, on disk, a catalogue plus per-store lists saying "the 16 KiB block
at volume offset X used to hold the bytes now kept at offset Y" (copy on write). This module
writes exactly that, following the published format description (Joachim Metz,
"Volume Shadow Snapshot (VSS) format", libvshadow documentation):

* the VSS volume header at volume offset 0x1E00 (inside $Boot), pointing at the catalogue;
* one catalogue block with a type 2 entry (volume size, store GUID, creation time) and a
  type 3 entry (where the store's header, block list, block range list and bitmap are) per store;
* per store: a store header block with the store information (shadow copy and set GUIDs,
  attribute flags, machine names), a block list of 32-byte descriptors mapping original
  block offsets to store data blocks, an empty block range list, an all-clear bitmap;
* the data blocks: the old 16 KiB blocks.

The structures are placed in free space at the end of the volume (the caller leaves room);
Windows keeps them in files under "System Volume Information", which a reader never needs.
Stores are listed oldest first; each holds the complete old content of every block it
changes, so any store reads correctly whatever the newer stores contain.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

BLOCK = 0x4000
VSS_IDENTIFIER = uuid.UUID("3808876b-c176-4e48-b7ae-04046e6cc752").bytes_le
VOLUME_HEADER_OFFSET = 0x1E00
ATTRIBUTES = 0x0042000D  # persistent, client accessible, no auto release, differential, auto recover
PROVIDER = uuid.UUID("b5946137-7b9f-4925-af80-51abd60b20d5")  # Microsoft Software Shadow Copy provider 1.0


@dataclass(frozen=True)
class ShadowCopy:
    """One snapshot: the old content of byte ranges of the volume, and when it was taken."""

    created: int  # FILETIME
    old_bytes: Mapping[int, bytes]  # volume offset -> the bytes there at snapshot time
    store_id: uuid.UUID = field(default_factory=uuid.uuid4)
    copy_id: uuid.UUID = field(default_factory=uuid.uuid4)
    copy_set_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _block_header(record_type: int, relative: int, offset: int, next_offset: int = 0, info_size: int = 0) -> bytes:
    head = VSS_IDENTIFIER + struct.pack("<II", 1, record_type)
    head += struct.pack("<QQQQ", relative, offset, next_offset, info_size)
    return head.ljust(128, b"\0")


def _utf16_sized(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return struct.pack("<H", len(data)) + data


def space_needed(copies: Sequence[ShadowCopy]) -> int:
    """Bytes of free space the copies need at the end of the volume."""
    blocks = 1  # catalogue
    for copy in copies:
        blocks += 4 + len(_changed_blocks(copy, None))
    return (blocks + 1) * BLOCK


def _changed_blocks(copy: ShadowCopy, volume: bytes | None) -> dict[int, bytes]:
    """Block offset -> the old 16 KiB block (current bytes with the old ranges laid over)."""
    out: dict[int, bytearray] = {}
    for offset, old in copy.old_bytes.items():
        first, last = offset // BLOCK, (offset + len(old) - 1) // BLOCK
        for index in range(first, last + 1):
            start = index * BLOCK
            if start not in out:
                out[start] = bytearray(volume[start : start + BLOCK]) if volume is not None else bytearray(BLOCK)
            lo, hi = max(offset, start), min(offset + len(old), start + BLOCK)
            out[start][lo - start : hi - start] = old[lo - offset : hi - offset]
    return {k: bytes(v) for k, v in sorted(out.items())}


def write_shadow_copies(volume: bytearray, copies: Sequence[ShadowCopy], area_offset: int | None = None) -> None:
    """Add the shadow copies (oldest first) to ``volume``, the bytes of an NTFS volume."""
    if not copies:
        return
    size = len(volume)
    area = area_offset if area_offset is not None else ((size - space_needed(copies)) // BLOCK) * BLOCK
    if area < BLOCK * 64 or area + space_needed(copies) > size:
        raise ValueError("not enough free room at the end of the volume for the shadow copies")
    cursor = area

    def take() -> int:
        nonlocal cursor
        offset = cursor
        cursor += BLOCK
        return offset

    catalog = take()
    entries = b""
    for copy in copies:
        changed = _changed_blocks(copy, bytes(volume))
        if any(start >= area for start in changed):
            raise ValueError("a changed range overlaps the shadow-copy area")
        header_at, list_at, ranges_at, bitmap_at = take(), take(), take(), take()
        data_at = {start: take() for start in changed}
        info = b"".join(
            [
                PROVIDER.bytes_le,
                copy.copy_id.bytes_le,
                copy.copy_set_id.bytes_le,
                struct.pack("<IIII", 0x0D, 1, ATTRIBUTES, 0),
                _utf16_sized("ws-demo-01.example.invalid"),
                _utf16_sized("ws-demo-01.example.invalid"),
            ]
        )
        volume[header_at : header_at + BLOCK] = (_block_header(4, 0, header_at, 0, len(info)) + info).ljust(
            BLOCK, b"\0"
        )
        descriptors = b"".join(
            struct.pack("<QQQII", start, index * BLOCK, data_at[start], 0, 0) for index, start in enumerate(changed)
        )
        if 128 + len(descriptors) > BLOCK:
            raise ValueError("too many changed blocks for one block-list block")
        volume[list_at : list_at + BLOCK] = (_block_header(3, 0, list_at) + descriptors).ljust(BLOCK, b"\0")
        volume[ranges_at : ranges_at + BLOCK] = _block_header(5, 0, ranges_at).ljust(BLOCK, b"\0")
        volume[bitmap_at : bitmap_at + BLOCK] = _block_header(6, 0, bitmap_at).ljust(BLOCK, b"\0")
        for start, old in changed.items():
            volume[data_at[start] : data_at[start] + BLOCK] = old
        entries += struct.pack("<QQ", 2, size) + copy.store_id.bytes_le
        entries += struct.pack("<QQQ", 1, 0x40, copy.created).ljust(128 - 32, b"\0")
        entries += struct.pack("<QQ", 3, list_at) + copy.store_id.bytes_le
        entries += struct.pack("<QQQQQQQ", header_at, ranges_at, bitmap_at, 0, BLOCK * 4, 0, 0).ljust(128 - 32, b"\0")
    volume[catalog : catalog + BLOCK] = (_block_header(2, 0, catalog) + entries).ljust(BLOCK, b"\0")
    header = VSS_IDENTIFIER + struct.pack("<IIQQQQQ", 1, 1, VOLUME_HEADER_OFFSET, VOLUME_HEADER_OFFSET, 0, catalog, 0)
    header += uuid.uuid4().bytes_le + uuid.uuid4().bytes_le
    volume[VOLUME_HEADER_OFFSET : VOLUME_HEADER_OFFSET + 512] = header.ljust(512, b"\0")
