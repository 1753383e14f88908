"""EVTX files for tests and benchmarks: real logs re-chunked, enlarged and damaged on purpose.

Why: the reader must be tested on damage whose place is known (a truncated file, a zeroed
chunk, a wrong checksum, a non-EVTX file) and timed on a log far larger than the public
samples, without downloaded data. Everything here starts from the chunks of a real log and
keeps their bytes: records are renumbered and the checksums recomputed, so an enlarged log
is as valid as its source (template offsets are relative to the chunk, so whole chunks can
be copied).

Layout (libyal libevtx "Windows XML Event Log (EVTX)" format documentation): a 4096-byte
file header (``ElfFile``; checksum CRC32 of bytes 0-120 at 124), then 64 KiB chunks
(``ElfChnk``; first/last record number at 8/16, first/last record id at 24/32, last record
offset at 44, free space offset at 48, records CRC32 at 52, header CRC32 of bytes 0-120 and
128-512 at 124), records from offset 512 (``**\\0\\0``, size, id, FILETIME, BinXml, size).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hivescan.events.logs import EventLog

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
RECORD_MAGIC = b"\x2a\x2a\x00\x00"


def split_chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    """The file header and the chunks that carry the ``ElfChnk`` signature, in file order."""
    header = data[:FILE_HEADER_SIZE]
    chunks = []
    for start in range(FILE_HEADER_SIZE, len(data) - CHUNK_SIZE + 1, CHUNK_SIZE):
        chunk = data[start : start + CHUNK_SIZE]
        if chunk.startswith(b"ElfChnk\0"):
            chunks.append(chunk)
    return header, chunks


def chunk_records(chunk: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each record of a chunk, walking from 512 to the free-space offset."""
    free = struct.unpack_from("<I", chunk, 48)[0]
    out = []
    pos = CHUNK_HEADER_SIZE
    while pos + 24 <= min(free, len(chunk)) and chunk[pos : pos + 4] == RECORD_MAGIC:
        size = struct.unpack_from("<I", chunk, pos + 4)[0]
        if size < 28 or pos + size > len(chunk):
            break
        out.append((pos, size))
        pos += size
    return out


def renumber_chunk(chunk: bytes, first_id: int) -> tuple[bytes, int]:
    """The chunk with its records numbered from ``first_id`` and every checksum recomputed;
    returns the chunk and the next free record number."""
    buf = bytearray(chunk)
    records = chunk_records(chunk)
    next_id = first_id
    for pos, _size in records:
        struct.pack_into("<Q", buf, pos + 8, next_id)
        next_id += 1
    last = next_id - 1 if records else first_id
    struct.pack_into("<QQQQ", buf, 8, first_id, last, first_id, last)
    if records:
        struct.pack_into("<I", buf, 44, records[-1][0])
    free = struct.unpack_from("<I", buf, 48)[0]
    struct.pack_into("<I", buf, 52, zlib.crc32(bytes(buf[CHUNK_HEADER_SIZE:free])))
    struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120]) + bytes(buf[128:CHUNK_HEADER_SIZE])))
    return bytes(buf), next_id


def file_header(template: bytes, chunk_count: int, next_record: int) -> bytes:
    """A file header like ``template`` for ``chunk_count`` chunks, clean, checksum recomputed."""
    buf = bytearray(template[:FILE_HEADER_SIZE])
    struct.pack_into("<QQQ", buf, 8, 0, chunk_count - 1, next_record)
    struct.pack_into("<H", buf, 42, chunk_count & 0xFFFF)
    struct.pack_into("<I", buf, 120, 0)  # not dirty, not full
    struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120])))
    return bytes(buf)


def build_log(template_header: bytes, chunks: Sequence[bytes]) -> bytes:
    """A valid EVTX file of ``chunks`` (renumbered from record 1).

    The header's chunk count is 16 bits; logs of more chunks are still read by parsers that
    walk the file (as Windows does for logs over 4 GiB), so the count wraps as it would.
    """
    out = []
    next_id = 1
    for chunk in chunks:
        fixed, next_id = renumber_chunk(chunk, next_id)
        out.append(fixed)
    return file_header(template_header, len(out), next_id) + b"".join(out)


def enlarge(data: bytes, min_records: int) -> bytes:
    """A log of at least ``min_records`` records: the source's chunks repeated in order."""
    header, chunks = split_chunks(data)
    if not chunks:
        raise ValueError("no chunk to repeat")
    per_round = sum(len(chunk_records(c)) for c in chunks)
    if per_round == 0:
        raise ValueError("the chunks hold no record")
    rounds = -(-min_records // per_round)
    return build_log(header, list(chunks) * rounds)


# ------------------------------------------------------------------ damage


def truncate(data: bytes, at: int) -> bytes:
    """The first ``at`` bytes (a copy interrupted mid-chunk)."""
    return data[:at]


def zero_chunk(data: bytes, index: int) -> bytes:
    """Chunk ``index`` (0-based) overwritten with zeros, the rest untouched."""
    start = FILE_HEADER_SIZE + index * CHUNK_SIZE
    return data[:start] + bytes(CHUNK_SIZE) + data[start + CHUNK_SIZE :]


def corrupt_record_data(data: bytes, chunk_index: int, record_index: int) -> bytes:
    """One byte inside a record's BinXml flipped: the chunk's records checksum no longer
    matches (the header checksum still does)."""
    start = FILE_HEADER_SIZE + chunk_index * CHUNK_SIZE
    chunk = data[start : start + CHUNK_SIZE]
    pos, size = chunk_records(chunk)[record_index]
    buf = bytearray(data)
    buf[start + pos + size // 2] ^= 0xFF
    return bytes(buf)


def bad_checksums(data: bytes, chunk_index: int) -> bytes:
    """Chunk ``chunk_index``'s header and records checksums and the file header's replaced
    with wrong values; the data itself is intact."""
    buf = bytearray(data)
    start = FILE_HEADER_SIZE + chunk_index * CHUNK_SIZE
    for where in (start + 52, start + 124, 124):
        value = struct.unpack_from("<I", buf, where)[0]
        struct.pack_into("<I", buf, where, value ^ 0xDEADBEEF)
    return bytes(buf)


# ------------------------------------------------------------------ rows from a spec


def event_log_from_spec(rows: Sequence[Mapping[str, Any]], path: str = "spec.evtx") -> EventLog:
    """An :class:`~hivescan.events.logs.EventLog` of service events written in a fixture spec
    (``events:`` of a scenario): each row names ``event_id`` and ``time`` and any field of
    :class:`~hivescan.events.rows.ServiceEvent`; ``kind``, ``provider`` and ``channel`` follow
    from the event id. Why: rule examples must join events without binary EVTX files (the
    reader itself is tested on real logs)."""
    from hivescan.events.logs import EventLog
    from hivescan.events.rows import KINDS, ServiceEvent

    providers = {
        4697: "Microsoft-Windows-Security-Auditing",
        1102: "Microsoft-Windows-Eventlog",
        104: "Microsoft-Windows-Eventlog",
        12: "Microsoft-Windows-Sysmon",
        13: "Microsoft-Windows-Sysmon",
        14: "Microsoft-Windows-Sysmon",
    }
    channels = {
        4697: "Security",
        1102: "Security",
        12: "Microsoft-Windows-Sysmon/Operational",
        13: "Microsoft-Windows-Sysmon/Operational",
        14: "Microsoft-Windows-Sysmon/Operational",
    }
    events = []
    for number, row in enumerate(rows, start=1):
        fields = dict(row)
        event_id = int(fields.pop("event_id"))
        fields.setdefault("record_id", number)
        fields.setdefault("computer", "HOST")
        fields.setdefault("provider", providers.get(event_id, "Service Control Manager"))
        fields.setdefault("channel", channels.get(event_id, "System"))
        fields.setdefault("kind", KINDS[event_id])
        fields.setdefault("service_name", None)
        fields["time"] = str(fields["time"]).replace("+00:00", "Z")
        events.append(ServiceEvent(event_id=event_id, evtx_path=path, evtx_sha256="0" * 64, **fields))
    events.sort(key=lambda e: (e.time, e.record_id or 0))
    return EventLog(path, "0" * 64, 0, len(events), tuple(events))
