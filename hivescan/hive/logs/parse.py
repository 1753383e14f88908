"""Reading transaction logs: find them next to a hive, parse base block and entries, check hashes.

New format (``HvLE`` entries, Marvin32 hashes) and old format (``DIRT`` vector and pages);
see the package docstring for the rules. Every problem becomes a diagnostic; nothing raises.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hivescan.diagnostics import info, warning
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, parse_base_block
from hivescan.hive.logs.model import (
    ENTRY_HEADER,
    HBIN_ALIGNMENT,
    LOG_SUFFIXES,
    LOG_TYPE_NEW,
    LOG_TYPES_OLD,
    SECTOR,
    LogEntry,
    LogFile,
    PageRef,
    Rejected,
    sequence_ranges,
    serial_after,
)
from hivescan.hive.marvin import marvin32, marvin32_many

_Header = tuple[int, str | None, tuple[Any, ...]]  # offset, why unusable (None: fine), header fields
_ENTRY = struct.Struct("<4sIIIIIQQ")  # HvLE header: signature, size, flags, sequence, bins size, count, hash-1, hash-2

#: ``"auto"`` (find them next to the hive), ``"none"``, or log files / parsed logs.
LogsOption = str | Sequence[str | os.PathLike[str] | LogFile]


def discover_logs(hive_path: str | os.PathLike[str]) -> list[Path]:
    """``HIVE.LOG1``, ``HIVE.LOG2``, ``HIVE.LOG`` next to the hive, names compared ignoring case."""
    hive = Path(hive_path)
    try:
        siblings = {p.name.casefold(): p for p in hive.parent.iterdir() if p.is_file()}
    except OSError:
        return []
    found = []
    for suffix in LOG_SUFFIXES:
        match = siblings.get((hive.name + suffix).casefold())
        if match is not None:
            found.append(match)
    return found


def read_log(path: str | os.PathLike[str]) -> LogFile:
    """Read and parse one log file; never raises (problems become diagnostics)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        log = LogFile(str(path), b"", "")
        log._note(
            warning("log_unreadable", str(path), f"{path}: cannot be read ({exc.strerror or exc})"),
            Rejected(str(path), None, 0, "file cannot be read"),
        )
        return log
    return parse_log(data, str(path))


def parse_log(data: bytes, path: str = "<memory>") -> LogFile:
    """Parse a log's base block and entries (hashes checked); never raises."""
    log = LogFile(path, bytes(data))
    name = os.path.basename(path)
    if len(data) < SECTOR or data[:4] != REGF_SIGNATURE:
        why = "too short for a base block" if len(data) < SECTOR else "no 'regf' signature"
        log._note(
            warning("log_not_a_log", path, f"{name}: not a transaction log ({why}){_held_entries(data)}"),
            Rejected(path, None, 0, why),
        )
        return log
    base = parse_base_block(data[:SECTOR].ljust(BASE_BLOCK_SIZE, b"\0"))
    log.base = base
    if base.file_type == LOG_TYPE_NEW:
        log.format = "new"
    elif base.file_type in LOG_TYPES_OLD:
        log.format = "old"
    else:
        why = f"file type {base.file_type} (a primary file is 0; logs are 1, 2 or 6)"
        log._note(
            warning("log_not_a_log", path, f"{name}: not a transaction log: {why}{_held_entries(data)}"),
            Rejected(path, None, 0, why),
        )
        return log
    if not base.checksum_ok or base.primary_sequence != base.secondary_sequence:
        why = (
            f"base block checksum 0x{base.stored_checksum:08x} != computed 0x{base.computed_checksum:08x}"
            if not base.checksum_ok
            else f"base block sequence numbers differ ({base.primary_sequence} != {base.secondary_sequence}): "
            "the log itself was being written"
        )
        held = _held_entries(data) if log.format == "new" else ""
        log._note(
            warning("log_base_block_invalid", path, f"{name}: {why}; the kernel does not use this log{held}"),
            Rejected(path, None, 0, why),
        )
        return log
    log.usable = True
    if log.format == "new":
        _parse_new_entries(log)
    else:
        _parse_old_log(log)
    return log


def _held_entries(data: bytes) -> str:
    """``"; its entries that pass their hash checks (sequence ...) are not applied"`` for the
    entries walked from offset 512 whose Hash-1 and Hash-2 are right: a file the kernel does
    not use as a log (bad base block, garbled file type or signature) may still hold them,
    and the analyst must be told which (even those whose pages would not fit)."""
    held = []
    for off, why, fields in _entry_headers(data)[0]:
        size, hash1, hash2 = fields[1], fields[6], fields[7]
        if why is not None and why.startswith("truncated"):
            continue
        if marvin32(data[off : off + 32]) == hash2 and marvin32(data[off + ENTRY_HEADER : off + size]) == hash1:
            held.append(fields[3])
    return (
        f"; its entries that pass their hash checks (sequence {sequence_ranges(held)}) are not applied" if held else ""
    )


def _check_header(data: bytes, off: int) -> tuple[str | None, tuple[Any, ...]]:
    """Why the HvLE entry at ``off`` is unusable by its header alone (None if fine), and its fields."""
    fields = _ENTRY.unpack_from(data, off)
    _sig, size, _flags, _seq, bins, count, _hash1, _hash2 = fields
    if size < SECTOR or size % SECTOR:
        return f"entry size {size} is not a positive multiple of 512", fields
    if off + size > len(data):
        return f"truncated: the entry needs {size} bytes, the file ends after {len(data) - off}", fields
    if bins == 0 or bins % HBIN_ALIGNMENT:
        return f"hive bins size {bins} is not a positive multiple of 4096", fields
    if count == 0 or ENTRY_HEADER + 8 * count > size:
        return f"dirty page count {count} does not fit the entry ({size} bytes)", fields
    return None, fields


def _check_body(data: bytes, off: int, fields: tuple[Any, ...], hashes: tuple[int, int]) -> str | None:
    """Why an entry with a sound header is unusable (None if fine): its hashes, then its pages.

    ``hashes``: Marvin32 of the entry's first 32 bytes (Hash-2) and of its body (Hash-1).
    """
    _sig, size, _flags, _seq, bins, count, hash1, hash2 = fields
    if hashes[0] != hash2:
        return "Hash-2 (header) does not match"
    if hashes[1] != hash1:
        return "Hash-1 (pages) does not match"
    total = 0
    for i in range(count):
        page_off, page_size = struct.unpack_from("<II", data, off + ENTRY_HEADER + 8 * i)
        if page_size == 0 or page_off + page_size > bins:
            return f"page {i} (offset 0x{page_off:x}, {page_size} bytes) lies outside the hive bins ({bins})"
        total += page_size
    if ENTRY_HEADER + 8 * count + total > size:
        return f"the pages ({total} bytes) do not fit the entry ({size} bytes)"
    return None


def _entry_headers(data: bytes) -> tuple[list[_Header], int]:
    """``(offset, problem, fields)`` of each HvLE entry walked from offset 512, in file order,
    and the offset where the walk ended (no signature there, or an entry whose size is unusable).

    Where the next entry starts depends on the headers only (never on the hashes), so the
    entries are found first and their hashes computed together (:func:`marvin32_many`).
    """
    found: list[_Header] = []
    off = SECTOR
    while off + ENTRY_HEADER <= len(data):  # each step advances by >= 512 bytes
        if data[off : off + 4] != b"HvLE":
            break  # end of the entries (zeros or older bytes)
        why, fields = _check_header(data, off)
        found.append((off, why, fields))
        size = fields[1]
        if why is not None and (why.startswith("truncated") or size < SECTOR or size % SECTOR):
            return found, off + SECTOR
        off += size
    return found, off


def _scan_headers(data: bytes, start: int) -> list[_Header]:
    """Entries with a sound header at any sector boundary from ``start`` on (remnants, as yarp's
    ``list_remnant_log_entries`` finds them): what is left of older entries past the log's end."""
    found: list[_Header] = []
    pos = data.find(b"HvLE", start)
    while pos != -1 and pos + ENTRY_HEADER <= len(data):
        if pos % SECTOR == 0:
            why, fields = _check_header(data, pos)
            if why is None:
                found.append((pos, None, fields))
        pos = data.find(b"HvLE", pos + 4)
    return found


def _hashed(data: bytes, headers: list[_Header]) -> list[_Header]:
    """The same entries, with the problem their hashes or pages show (Marvin32 computed in one batch)."""
    view = memoryview(data)
    parts: list[memoryview] = []
    for off, why, fields in headers:
        if why is None:  # Hash-2 covers the first 32 bytes, Hash-1 what follows the header
            parts += (view[off : off + 32], view[off + ENTRY_HEADER : off + fields[1]])
    hashed = iter(marvin32_many(parts))
    out = []
    for off, why, fields in headers:
        if why is None:
            why = _check_body(data, off, fields, (next(hashed), next(hashed)))
        out.append((off, why, fields))
    return out


def _entry(path: str, data: bytes, off: int, fields: tuple[Any, ...]) -> LogEntry:
    _sig, size, flags, seq, bins, count = fields[:6]
    base = off + ENTRY_HEADER + 8 * count
    pages = []
    for i in range(count):
        page_off, page_size = struct.unpack_from("<II", data, off + ENTRY_HEADER + 8 * i)
        pages.append(PageRef(page_off, page_size, base))
        base += page_size
    return LogEntry(path, off, size, seq, flags, bins, tuple(pages))


def _parse_new_entries(log: LogFile) -> None:
    """Sort the log's valid entries into candidates (``entries``) and older ``remnants``.

    Candidates are the entries walked from offset 512 (each starts where the one before
    ends) that are numbered from the log's base-block sequence number on, in whatever file
    order: the replay orders the entries of all logs by number, so a renumbered, duplicate
    or reordered entry inside one log is handled as between logs (``log_sequence_gap``,
    ``log_sequence_duplicate``). Remnants are valid entries numbered before the base block's
    number and found after a candidate (older data the log's current run did not
    overwrite), and valid entries found past the end of the walk. Whether a remnant is a
    previous state or a loss is decided by the replay, which knows what was applied.
    """
    assert log.base is not None
    data, path, name = log.data, log.path, log.name
    first = log.base.primary_sequence
    walked, end = _entry_headers(data)
    for off, why, fields in _hashed(data, walked):
        seq = fields[3]
        if why is not None:
            code = "log_truncated" if why.startswith("truncated") else "log_entry_corrupt"
            log._note(
                warning(code, path, f"{name}: entry at offset {off} (sequence {seq}): {why}; not applied"),
                Rejected(path, seq, off, why),
            )
            continue
        entry = _entry(path, data, off, fields)
        if serial_after(seq, first) is not None:
            log.entries.append(entry)
        elif log.entries:
            log.remnants.append(with_note(entry, f"remnant: numbered before the log's base block ({first})"))
        else:  # before any candidate: not left-over older data, the log's numbering is inconsistent
            log.stray.append(with_note(entry, f"numbered before the log's base block ({first}), at its start"))
    _scan_remnants(log, end)


def _scan_remnants(log: LogFile, end: int) -> None:
    """Valid entries at sector boundaries past ``end`` (the end of the walked entries) -> remnants.

    Candidates may overlap (each claims its own size), so a crafted log could make hashing
    quadratic: the bodies hashed are capped at twice the file's size. Hash-2 (32 bytes) is
    checked first for all; in a real log the candidates it leaves fit the cap and are hashed
    together; otherwise they are hashed one by one, skipping those inside a valid remnant,
    until the cap (``log_remnant_scan_limited``).
    """
    data, view = log.data, memoryview(log.data)
    heads = _scan_headers(data, end)
    hash2 = marvin32_many([view[off : off + 32] for off, _why, _fields in heads])
    candidates = [(off, fields) for (off, _why, fields), h2 in zip(heads, hash2, strict=True) if h2 == fields[7]]
    budget = 2 * len(data)
    note = f"remnant: past the end of the log's entries at offset {end}"
    taken_until = end
    if sum(fields[1] for _off, fields in candidates) <= budget:
        bodies = marvin32_many([view[off + ENTRY_HEADER : off + fields[1]] for off, fields in candidates])
        hashed = list(zip(candidates, bodies, strict=True))
    else:
        hashed = []  # one by one below
    for index in range(len(candidates)):
        off, fields = candidates[index]
        if off < taken_until:
            continue  # inside a remnant already taken
        if hashed:
            body = hashed[index][1]
        else:
            if fields[1] > budget:
                log.diagnostics.append(
                    warning(
                        "log_remnant_scan_limited",
                        log.path,
                        f"{log.name}: the search for remnant entries stopped at offset {off}: the entries claimed "
                        "there overlap too much to check them all (a damaged or crafted log); any older entries "
                        "after it are not listed",
                    )
                )
                break
            budget -= fields[1]
            body = marvin32_many([view[off + ENTRY_HEADER : off + fields[1]]])[0]
        if _check_body(data, off, fields, (fields[7], body)) is None:
            log.remnants.append(with_note(_entry(log.path, data, off, fields), note))
            taken_until = off + fields[1]


def with_note(entry: LogEntry, note: str) -> LogEntry:
    return LogEntry(
        entry.log, entry.file_offset, entry.size, entry.sequence, entry.flags, entry.hive_bins_size, entry.pages, note
    )


def _parse_old_log(log: LogFile) -> None:
    assert log.base is not None
    data, path, name = log.data, log.path, log.name
    bins = log.base.hive_bins_data_size
    if bins == 0 or bins % HBIN_ALIGNMENT:
        why = f"hive bins size {bins} in its base block is not a positive multiple of 4096"
        log._note(warning("log_entry_corrupt", path, f"{name}: {why}"), Rejected(path, None, SECTOR, why))
        log.usable = False
        return
    if data[SECTOR : SECTOR + 4] != b"DIRT":
        why = "no 'DIRT' dirty vector at offset 512"
        log._note(warning("log_entry_corrupt", path, f"{name}: {why}"), Rejected(path, None, SECTOR, why))
        log.usable = False
        return
    bitmap_len = bins // HBIN_ALIGNMENT  # one bit per 512-byte page
    bitmap_end = SECTOR + 4 + bitmap_len
    if bitmap_end > len(data):
        why = f"truncated: the dirty vector needs {bitmap_len} bytes, the file ends before"
        log._note(warning("log_truncated", path, f"{name}: {why}"), Rejected(path, None, SECTOR, why))
        log.usable = False
        return
    pages_at = -(-bitmap_end // SECTOR) * SECTOR
    runs: list[PageRef] = []
    index = 0
    bitmap = data[SECTOR + 4 : bitmap_end]
    for byte_no, byte in enumerate(bitmap):
        if not byte:
            continue
        for bit in range(8):
            if byte >> bit & 1:
                page_off = (byte_no * 8 + bit) * SECTOR
                log_off = pages_at + index * SECTOR
                last = runs[-1] if runs else None
                if last is not None and last.offset + last.size == page_off and last.log_offset + last.size == log_off:
                    runs[-1] = PageRef(last.offset, last.size + SECTOR, last.log_offset)
                else:
                    runs.append(PageRef(page_off, SECTOR, log_off))
                index += 1
    needed = pages_at + index * SECTOR
    if needed > len(data):
        why = f"truncated: {index} dirty pages need {needed} bytes, the file has {len(data)}"
        log._note(warning("log_truncated", path, f"{name}: {why}"), Rejected(path, log.base.primary_sequence, 0, why))
        log.usable = False
        return
    if index == 0:
        log.diagnostics.append(info("log_stale", path, f"{name}: the dirty vector marks no page; nothing to apply"))
        return
    log.entries.append(
        LogEntry(path, SECTOR, needed - SECTOR, log.base.primary_sequence, 0, bins, tuple(runs), "old-format log")
    )


def load_logs(hive_path: str | os.PathLike[str] | None, option: LogsOption) -> list[LogFile]:
    """The logs chosen by ``option``: ``"auto"`` (next to the hive), ``"none"``, or explicit
    paths / already parsed :class:`LogFile` objects."""
    if isinstance(option, str):
        if option == "none":
            return []
        if option != "auto":
            raise ValueError(f"logs: 'auto', 'none' or a list of log files, not {option!r}")
        if hive_path is None:
            return []
        return [read_log(p) for p in discover_logs(hive_path)]
    return [item if isinstance(item, LogFile) else read_log(item) for item in option]
