"""Dirty hives for tests: a primary file plus the transaction logs that bring it up to date.

Why: the log replay must be tested on logs whose every entry is known, in both formats,
without downloaded data. A dirty hive is made from successive *states* of a hive (complete
regf images written by :mod:`hivescan.testing.regf`): the primary file on disk is the first
state with a dirty base block; each later state becomes one log entry holding the 4 KiB
pages that differ from the state before (new format, ``HvLE`` with Marvin32 hashes), or one
old-format log (``DIRT`` vector and pages) holding everything that differs from the first.
A correct replay gives the last state back byte for byte (:attr:`DirtyHive.replayed`).

States written anew by the writer lay every cell out again, so nearly every page differs and
a log holds most of the hive; a state made from the one before by
:class:`hivescan.testing.regf_edit.HiveEditor` (cells appended as Windows appends them) gives
an entry of the few pages Windows would log (tens of KB for a service added).

Deliberate damage for negative tests: a wrong Hash-1/Hash-2, a renumbered entry (gap), a
log cut inside an entry. Stale and foreign logs are easy to make from the primitives
(:func:`hvle_entry`, :func:`new_format_log`, :func:`old_format_log`, :func:`stamp_guids`);
entries are reordered or renumbered with valid hashes by :func:`split_log` and
:func:`renumber_entry`.

Spec form (``logs:`` in a fixture YAML, see :mod:`hivescan.testing.spec`)::

    logs:
      format: new               # new (HvLE, .LOG1/.LOG2) | old (DIRT, one log)
      sequence: 1621            # the primary's secondary sequence number = the first entry's
      split: 1                  # new format: entries[:split] go to .LOG1, the rest to .LOG2
      damage: [{entry: 1, hash: 1}]   # or {entry: k, sequence: N}, {entry: k, truncate: true}
      entries:                  # each: changes on top of the state before
        - note: why (documentation)
          keys: {Path\\From\\Root: {values: {...}}}
          control_sets: [{number: 1, services: {Evil: {...}}, drop_services: [Old]}]

Format reference: msuhanov/regf specification, "Format of transaction log files".
"""

from __future__ import annotations

import copy
import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivescan.hive.header import BASE_BLOCK_SIZE, base_block_checksum
from hivescan.hive.marvin import marvin32

SECTOR = 512
PAGE = 4096


@dataclass
class DirtyHive:
    """A primary file, its logs (suffix -> bytes) and what a correct replay must give."""

    primary: bytes
    logs: dict[str, bytes]
    replayed: bytes
    sequences: list[int] = field(default_factory=list)  # of the entries, in order

    def write(self, path: str | Path) -> list[Path]:
        """Write the primary file at ``path`` and each log next to it; returns every path."""
        out = Path(path)
        out.write_bytes(self.primary)
        written = [out]
        for suffix, data in self.logs.items():
            log_path = out.with_name(out.name + suffix)
            log_path.write_bytes(data)
            written.append(log_path)
        return written


# ---------------------------------------------------------------- primitives


def with_base_fields(block: bytes, **fields: int) -> bytes:
    """A base block (4096 or 512 bytes) with fields replaced and the checksum recomputed.

    Fields: ``primary_sequence``, ``secondary_sequence``, ``last_written``, ``file_type``,
    ``hive_bins_size``, ``flags``.
    """
    where = {
        "primary_sequence": (4, "<I"),
        "secondary_sequence": (8, "<I"),
        "last_written": (12, "<Q"),
        "file_type": (28, "<I"),
        "hive_bins_size": (40, "<I"),
        "flags": (144, "<I"),
    }
    out = bytearray(block)
    for name, value in fields.items():
        offset, fmt = where[name]
        struct.pack_into(fmt, out, offset, value)
    struct.pack_into("<I", out, 508, base_block_checksum(bytes(out[:512])))
    return bytes(out)


def stamp_guids(block: bytes, seed: str) -> bytes:
    """Windows 10 base-block GUIDs (RmId, LogId, TmId, ``rmtm``) derived from ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    out = bytearray(block)
    out[112:128] = digest[:16]  # RmId
    out[128:144] = digest[:16]  # LogId (Windows stores the same GUID)
    out[148:164] = digest[16:32]  # TmId
    out[164:168] = b"rmtm"
    struct.pack_into("<I", out, 508, base_block_checksum(bytes(out[:512])))
    return bytes(out)


def hive_bins_size(image: bytes) -> int:
    return int(struct.unpack_from("<I", image, 40)[0])


def dirty_pages(before: bytes, after: bytes, page: int = PAGE) -> list[tuple[int, bytes]]:
    """``(hive-bins offset, bytes)`` of each ``page``-sized block of ``after``'s hive bins that
    differs from ``before`` (blocks past the end of ``before`` always differ)."""
    a = before[BASE_BLOCK_SIZE:]
    b = after[BASE_BLOCK_SIZE : BASE_BLOCK_SIZE + hive_bins_size(after)]
    return [(off, b[off : off + page]) for off in range(0, len(b), page) if a[off : off + page] != b[off : off + page]]


def hvle_entry(sequence: int, bins: int, pages: Sequence[tuple[int, bytes]], flags: int = 0) -> bytes:
    """One new-format log entry with correct hashes, padded to a multiple of 512 bytes."""
    refs = b"".join(struct.pack("<II", off, len(data)) for off, data in pages)
    body = refs + b"".join(data for _, data in pages)
    size = -(-(40 + len(body)) // SECTOR) * SECTOR
    body = body.ljust(size - 40, b"\0")
    hash1 = marvin32(body)
    head = b"HvLE" + struct.pack("<IIIIIQ", size, flags, sequence, bins, len(pages), hash1)
    return head + struct.pack("<Q", marvin32(head)) + body


def split_log(log: bytes) -> tuple[bytes, list[bytes]]:
    """A new-format log's base block (first sector) and its entries, walked by their sizes."""
    entries = []
    off = SECTOR
    while off + 40 <= len(log) and log[off : off + 4] == b"HvLE":
        size = struct.unpack_from("<I", log, off + 4)[0]
        if size < SECTOR:
            break
        entries.append(log[off : off + size])
        off += size
    return log[:SECTOR], entries


def renumber_entry(entry: bytes, sequence: int) -> bytes:
    """The entry with another sequence number and a correct Hash-2 (a valid entry, renumbered)."""
    raw = bytearray(entry)
    struct.pack_into("<I", raw, 12, sequence)
    struct.pack_into("<Q", raw, 32, marvin32(bytes(raw[:32])))
    return bytes(raw)


def log_base_block(primary_base: bytes, file_type: int, sequence: int, **fields: int) -> bytes:
    """The first sector of a log: the hive's base block with the log's type and sequence."""
    return with_base_fields(
        primary_base[:SECTOR], file_type=file_type, primary_sequence=sequence, secondary_sequence=sequence, **fields
    )


def new_format_log(primary_base: bytes, sequence: int, entries: Sequence[bytes]) -> bytes:
    """A new-format log: base block (type 6, ``sequence``) then the entries."""
    return log_base_block(primary_base, 6, sequence) + b"".join(entries)


def old_format_log(base: bytes, image: bytes, pages: Sequence[int], sequence: int) -> bytes:
    """An old-format log: base block (type 1), ``DIRT`` vector, then the 512-byte pages of
    ``image`` at the given hive-bins offsets (multiples of 512), in ascending order."""
    bins = hive_bins_size(base)
    bitmap = bytearray(bins // PAGE)
    for off in pages:
        bit = off // SECTOR
        bitmap[bit // 8] |= 1 << (bit % 8)
    vector = b"DIRT" + bytes(bitmap)
    vector = vector.ljust(-(-len(vector) // SECTOR) * SECTOR, b"\0")
    body = b"".join(image[BASE_BLOCK_SIZE + off : BASE_BLOCK_SIZE + off + SECTOR] for off in sorted(pages))
    return log_base_block(base, 1, sequence) + vector + body


# ---------------------------------------------------------------- dirty hives from states


def make_dirty(
    states: Sequence[bytes],
    *,
    fmt: str = "new",
    sequence: int = 100,
    split: int | None = None,
    damage: Sequence[Mapping[str, Any]] = (),
    guid_seed: str | None = "hivescan-test-hive",
    old_suffix: str = ".LOG1",
) -> DirtyHive:
    """A dirty primary (``states[0]``) and logs that lead to ``states[-1]``.

    ``sequence`` is the primary's secondary sequence number and the first entry's number.
    """
    if len(states) < 2:
        raise ValueError("a dirty hive needs at least two states (primary and one change)")
    stamped = [stamp_guids(s[:BASE_BLOCK_SIZE], guid_seed) + s[BASE_BLOCK_SIZE:] if guid_seed else s for s in states]
    first = stamped[0]
    if fmt == "old":
        return _make_old(stamped, sequence, damage, old_suffix)
    if fmt != "new":
        raise ValueError(f"log format: new or old, not {fmt!r}")
    primary = with_base_fields(first[:BASE_BLOCK_SIZE], primary_sequence=sequence + 1, secondary_sequence=sequence)
    primary += first[BASE_BLOCK_SIZE:]
    entries: list[bytes] = []
    numbers: list[int] = []
    for i in range(1, len(stamped)):
        pages = dirty_pages(stamped[i - 1], stamped[i]) or [(0, stamped[i][BASE_BLOCK_SIZE : BASE_BLOCK_SIZE + PAGE])]
        number = sequence + i - 1
        for item in damage:
            if item.get("entry") == i - 1 and "sequence" in item:
                number = int(item["sequence"])
        entries.append(hvle_entry(number, hive_bins_size(stamped[i]), pages))
        numbers.append(number)
    for item in damage:
        k = int(item["entry"])
        if "hash" in item:  # 1: a page byte changes (Hash-2 re-signed); 2: the header hash is wrong
            raw = bytearray(entries[k])
            if int(item["hash"]) == 1:
                raw[-1] ^= 0xFF
                struct.pack_into("<Q", raw, 32, marvin32(bytes(raw[:32])))
            else:
                raw[32] ^= 0xFF
            entries[k] = bytes(raw)
    cut = len(entries) if split is None else max(0, min(split, len(entries)))
    log1 = new_format_log(stamped[1][:BASE_BLOCK_SIZE], numbers[0], entries[:cut])
    next_number = numbers[cut] if cut < len(numbers) else numbers[-1] + 1
    log2 = new_format_log(stamped[min(cut + 1, len(stamped) - 1)][:BASE_BLOCK_SIZE], next_number, entries[cut:])
    for item in damage:
        if item.get("truncate"):
            k = int(item["entry"])
            inside = sum(len(e) for e in entries[:k]) + len(entries[k]) // 2
            if k < cut:
                log1 = log1[: SECTOR + inside]
            else:
                log2 = log2[: SECTOR + inside - sum(len(e) for e in entries[:cut])]
    last = stamped[-1]
    replayed = (
        with_base_fields(last[:BASE_BLOCK_SIZE], primary_sequence=numbers[-1], secondary_sequence=numbers[-1])
        + last[BASE_BLOCK_SIZE:]
    )
    return DirtyHive(primary, {".LOG1": log1, ".LOG2": log2}, replayed, numbers)


def _make_old(states: Sequence[bytes], sequence: int, damage: Sequence[Mapping[str, Any]], suffix: str) -> DirtyHive:
    first, last = states[0], states[-1]
    stamp = struct.unpack_from("<Q", last, 12)[0]
    primary = with_base_fields(
        first[:BASE_BLOCK_SIZE], primary_sequence=sequence + 1, secondary_sequence=sequence, last_written=stamp
    )
    primary += first[BASE_BLOCK_SIZE:]
    offsets = [off + k for off, _ in dirty_pages(first, last) for k in range(0, PAGE, SECTOR)]
    log = old_format_log(last[:BASE_BLOCK_SIZE], last, offsets, sequence + 1)
    for item in damage:
        if item.get("truncate"):
            log = log[: len(log) - SECTOR]
    replayed = (
        with_base_fields(last[:BASE_BLOCK_SIZE], primary_sequence=sequence + 1, secondary_sequence=sequence + 1)
        + last[BASE_BLOCK_SIZE:]
    )
    return DirtyHive(primary, {suffix: log}, replayed, [sequence + 1])


# ---------------------------------------------------------------- specs


def _merge_entry(spec: dict[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of the next state: ``entry``'s keys and control-set services merged in."""
    out = copy.deepcopy(spec)
    keys = out.setdefault("keys", {}) or {}
    out["keys"] = keys
    for path, key_spec in (entry.get("keys") or {}).items():
        keys[path] = copy.deepcopy(key_spec)
    sets = out.setdefault("control_sets", []) or []
    out["control_sets"] = sets
    for change in entry.get("control_sets") or []:
        number = int(change["number"])
        target = next((cs for cs in sets if int(cs["number"]) == number), None)
        if target is None:
            sets.append(copy.deepcopy(dict(change)))
            continue
        services = target.setdefault("services", {}) or {}
        target["services"] = services
        drop = {str(n).upper() for n in change.get("drop_services") or []}
        for name in list(services):
            if name.upper() in drop:
                del services[name]
        target["drop_services"] = list(target.get("drop_services") or []) + list(change.get("drop_services") or [])
        services.update(copy.deepcopy(dict(change.get("services") or {})))
    return out


def build_dirty_from_spec(spec: Mapping[str, Any]) -> DirtyHive:
    """The dirty hive a spec with a ``logs:`` section describes."""
    from hivescan.testing.spec import SpecError, build_from_spec

    logs = dict(spec.get("logs") or {})
    unknown = set(logs) - {"format", "sequence", "split", "damage", "entries", "note", "file"}
    if unknown:
        raise SpecError(f"logs: unknown field(s) {sorted(unknown)}")
    entries = logs.get("entries") or []
    if not entries:
        raise SpecError("logs: needs at least one entry")
    base_spec = {k: v for k, v in spec.items() if k != "logs"}
    specs = [base_spec]
    for entry in entries:
        specs.append(_merge_entry(specs[-1], entry))
    states = [build_from_spec(s).data for s in specs]
    return make_dirty(
        states,
        fmt=str(logs.get("format", "new")),
        sequence=int(logs.get("sequence", 100)),
        split=None if logs.get("split") is None else int(logs["split"]),
        damage=list(logs.get("damage") or []),
        old_suffix=str(logs.get("file", ".LOG1")),
    )
