"""Keys the live tree no longer reaches: deleted keys in free cells, orphaned key cells.

Why: Windows frees a deleted key's cells (key record, value list, value records, data)
without wiping them, so until the space is reused they still hold the key's name,
last-write time, parent and values. PsExec-style tools delete their services again; a
reader of the live tree never sees them. An *orphaned* key is an allocated key cell that no
subkey list reaches any more (damage, or a list edited to hide the key).

How (regf format facts; the plausibility limits follow yarp's ``RegistryRecover`` and the
EZ Registry library, see docs/design.md "Deleted keys"):

* the hive bins are walked cell by cell into a :class:`CellMap` -- every step advances,
  every size is checked; a bin whose cell chain breaks is recorded as damaged and the walk
  resumes at the next bin;
* key records are found by their ``nk`` signature at cell-header positions (8-byte aligned)
  anywhere in the bins, so keys inside coalesced free cells and in damaged bins are found
  too; text inside allocated cells (slack) is not searched;
* a candidate is kept only when it is plausible (name length and characters, counts); a
  parent pointer that cannot be a cell (misaligned, past the bins) does not make it
  implausible: the key is kept with its chain broken there (:meth:`KeyScan.parent_problem`),
  so it and its subkeys keep their names instead of vanishing (yarp drops such keys);
* a free key's value cells are read only when they are still free: a cell that has been
  reused belongs to someone else and is never read as this key's; what cannot be read is
  said in a diagnostic.

Nothing here knows about services: :mod:`hivescan.scm.deleted` picks the service keys.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import BIG_DATA_SEGMENT, NO_OFFSET, CellError, Cells, NkCell
from hivescan.hive.header import BASE_BLOCK_SIZE, BaseBlock
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
from hivescan.hive.tree import values_by_name

CellState = Literal["allocated", "free", "overwritten", "damaged", "outside"]
Where = Literal["allocated", "free", "damaged"]

MAX_NAME_BYTES = 512  # 255 UTF-16 characters (the registry's limit) fit in 510
MAX_PLAUSIBLE_SUBKEYS = 10_000  # yarp's limits for keys found in free space
MAX_PLAUSIBLE_VALUES = 1_000
MAX_DEPTH = 512  # the registry's own nesting limit bounds parent chains
NEARBY_LIST_WINDOW = 8192  # how far after a key record a stray value list may sit
MAX_NEARBY_ENTRIES = 256
_NK_SIGNATURE = re.compile(b"nk")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_NK_FIXED = 0x4C
_VK_FIXED = 0x14
RECOVERY_PARSER = "hivescan-recover"


class CellMap:
    """Every cell found by walking the hive bins: start, end, allocated; damaged ranges.

    Offsets are relative to the first hive bin, like cell offsets in key records.
    """

    __slots__ = ("allocated", "bins", "damaged", "ends", "free_bytes", "problems", "size", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.allocated = bytearray()
        self.bins: list[tuple[int, int]] = []
        self.damaged: list[tuple[int, int]] = []
        self.problems: list[str] = []
        self.free_bytes = 0
        self.size = 0  # end of the mapped region (relative)

    def index(self, offset: int) -> int:
        """Index of the cell holding ``offset``, or -1."""
        i = bisect_right(self.starts, offset) - 1
        if i >= 0 and offset < self.ends[i]:
            return i
        return -1

    def state(self, offset: int, length: int) -> CellState:
        """What occupies ``length`` bytes from the cell header at ``offset`` now.

        ``allocated``: an allocated cell starts there and holds them. ``free``: they lie in
        free space (a free cell, possibly inside one that was merged with its neighbours).
        ``overwritten``: they overlap an allocated cell that does not start there (reused).
        ``damaged``: they lie in a bin whose cell chain could not be walked. ``outside``:
        not in the hive bins at all.
        """
        if offset == NO_OFFSET or offset % 8 or length < 0:
            return "outside"
        i = self.index(offset)
        if i < 0:
            if any(a <= offset < b for a, b in self.damaged):
                return "damaged"
            return "outside"
        end = offset + length
        if self.allocated[i]:
            return "allocated" if self.starts[i] == offset and end <= self.ends[i] else "overwritten"
        j = i
        count = len(self.starts)
        while end > self.ends[j]:  # free space may continue in the next (unmerged) free cell
            j += 1
            if j >= count or self.starts[j] != self.ends[j - 1] or self.allocated[j]:
                return "overwritten"
        return "free"

    def free_cells_between(self, low: int, high: int) -> Iterable[tuple[int, int]]:
        """(start, end) of the free cells starting in [low, high)."""
        i = max(bisect_right(self.starts, low) - 1, 0)
        count = len(self.starts)
        while i < count and self.starts[i] < high:
            if not self.allocated[i] and self.starts[i] >= low:
                yield self.starts[i], self.ends[i]
            i += 1


def map_cells(data: bytes, base: BaseBlock) -> CellMap:
    """Walk the hive bins. Bounded: each step moves forward by a checked, positive size."""
    cmap = CellMap()
    declared_end = BASE_BLOCK_SIZE + base.hive_bins_data_size
    end = len(data) if base.hive_bins_data_size <= 0 or declared_end > len(data) else declared_end
    end -= (end - BASE_BLOCK_SIZE) % 8 if end > BASE_BLOCK_SIZE else 0
    cmap.size = max(end - BASE_BLOCK_SIZE, 0)
    unpack_i32 = _I32.unpack_from
    starts, ends, allocated = cmap.starts, cmap.ends, cmap.allocated
    free_bytes = 0
    pos = BASE_BLOCK_SIZE
    while pos + 32 <= end:
        rel = pos - BASE_BLOCK_SIZE
        if data[pos : pos + 4] != b"hbin":
            span = min(4096, end - pos)
            cmap.damaged.append((rel, rel + span))
            cmap.problems.append(f"no hbin signature at 0x{rel:x}")
            pos += 4096
            continue
        (bin_size,) = _U32.unpack_from(data, pos + 8)
        if bin_size < 4096 or bin_size % 4096 or pos + bin_size > end:
            cmap.problems.append(f"hbin at 0x{rel:x} states an impossible size {bin_size}; 4096 assumed")
            bin_size = min(4096, end - pos)
        bin_end = pos + bin_size
        cmap.bins.append((rel, rel + bin_size))
        cell = pos + 32
        while cell + 4 <= bin_end:
            (raw,) = unpack_i32(data, cell)
            size = -raw if raw < 0 else raw
            if size < 8 or size % 8 or cell + size > bin_end:
                cmap.damaged.append((cell - BASE_BLOCK_SIZE, bin_end - BASE_BLOCK_SIZE))
                cmap.problems.append(f"cell at 0x{cell - BASE_BLOCK_SIZE:x} has an impossible size {raw}")
                break
            starts.append(cell - BASE_BLOCK_SIZE)
            ends.append(cell + size - BASE_BLOCK_SIZE)
            allocated.append(raw < 0)
            if raw > 0:
                free_bytes += size
            cell += size
        pos = bin_end
    cmap.free_bytes = free_bytes
    return cmap


class FoundKey(NamedTuple):
    """A key record found by the scan, and what its cell is now."""

    nk: NkCell
    where: Where  # allocated cell, inside free space, or in a damaged bin (own size field decides)

    @property
    def free(self) -> bool:
        return self.where == "free" or (self.where == "damaged" and not self.nk.allocated)


_STATE_WORDS = {
    "allocated": "allocated to live data now (reused)",
    "free": "free",
    "overwritten": "overlapped by an allocated cell now (overwritten)",
    "damaged": "in a damaged bin",
    "outside": "not a cell in the hive bins (the pointer was overwritten)",
}


def _plausible_name(nk: NkCell) -> bool:
    raw = nk.name_raw
    if not raw or len(raw) > MAX_NAME_BYTES:
        return False
    return "\0" not in nk.name and "\\" not in nk.name


def _plausible(nk: NkCell, size: int, strict: bool) -> bool:
    """Key records found by signature must look like key records (yarp applies the same idea)."""
    if not _plausible_name(nk):
        return False
    if nk.value_count and (nk.value_list == NO_OFFSET or nk.value_list % 8 or nk.value_list >= size):
        return False
    if strict:
        if nk.subkey_count > MAX_PLAUSIBLE_SUBKEYS or nk.volatile_subkey_count > MAX_PLAUSIBLE_SUBKEYS:
            return False
        if nk.value_count > MAX_PLAUSIBLE_VALUES:
            return False
    return True


class ValueRecovery(NamedTuple):
    """What could be read of a recovered key's values, and how they were found."""

    values: list[RawValue]
    diagnostics: list[Diagnostic]
    declared: int  # values the key record declares (0 when it no longer links them)
    attached: Literal["linked", "nearby_list", "none"]  # how the values were tied to the key
    unreadable: int  # values that could not be read (reused, overwritten, malformed)
    implausible: int  # values read whose data does not look like their type


class KeyScan:
    """Every key record in the bins -- allocated, free, in damaged bins -- indexed by offset."""

    def __init__(self, data: bytes, base: BaseBlock, cells: Cells | None = None) -> None:
        self.data = data
        self.base = base
        self.cells = cells if cells is not None else Cells(data, minor_version=base.minor_version)
        self.map = map_cells(data, base)
        self.keys: dict[int, FoundKey] = {}
        self.children: dict[int, list[int]] = {}
        self.slack_hits = 0  # nk signatures inside allocated cells (not searched further)
        self._scan()
        self._claimed_lists = {k.nk.value_list for k in self.keys.values() if k.nk.value_count}
        self._nearby: dict[int, list[int]] = {}
        self._sorted_offsets = sorted(self.keys)

    @property
    def root_offset(self) -> int:
        return self.base.root_cell_offset

    def _scan(self) -> None:
        data, cmap, cells = self.data, self.map, self.cells
        end = BASE_BLOCK_SIZE + cmap.size
        starts, allocated = cmap.starts, cmap.allocated
        for match in _NK_SIGNATURE.finditer(data, BASE_BLOCK_SIZE + 4, end):
            pos = match.start()
            if pos % 8 != 4:
                continue
            off = pos - 4 - BASE_BLOCK_SIZE
            i = cmap.index(off)
            where: Where
            if i >= 0:
                if allocated[i]:
                    if starts[i] != off:
                        self.slack_hits += 1
                        continue
                    where = "allocated"
                else:
                    where = "free"
            else:
                where = "damaged"
            try:
                nk = cells.nk(off, allow_free=True)
            except CellError:
                continue
            if not _plausible(nk, cmap.size, strict=where != "allocated"):
                continue
            if where == "free" and cmap.state(off, 4 + _NK_FIXED + len(nk.name_raw)) != "free":
                continue  # the record runs into an allocated cell: partly overwritten
            self.keys[off] = FoundKey(nk, where)
            if self.parent_problem(nk) is None:
                self.children.setdefault(nk.parent, []).append(off)

    def parent_problem(self, nk: NkCell) -> str | None:
        """Why a key record's parent pointer cannot name a cell, or None.

        Such a key is damaged or overwritten in one field; it is kept (its name, values and
        subkeys are still evidence), unattributed, its parent chain broken here.
        """
        parent = nk.parent
        if parent == NO_OFFSET or (parent % 8 == 0 and parent < self.map.size):
            return None
        why = "not 8-byte aligned" if parent % 8 else "beyond the hive bins"
        return f"parent pointer 0x{parent:x} is {why}"

    def lost_path(self, offset: int) -> str:
        """A path for a key whose chain may be broken: its ancestors' names, prefixed with where
        and why the chain breaks (the key's own name is always the last component)."""
        chain, broken = self.ancestors(offset)
        names = [self.keys[o].nk.name for o in reversed(chain) if o in self.keys and o != self.root_offset]
        if broken is None:
            return "\\".join(names)
        top = self.keys.get(chain[-1]) if chain else None
        problem = self.parent_problem(top.nk) if top is not None else None
        lost = f"({problem})" if problem else f"(lost parent at 0x{broken:x})"
        return "\\".join([lost, *names])

    # -- parent chains

    def ancestors(self, offset: int) -> tuple[list[int], int | None]:
        """Offsets from the key up to the root (inclusive), and where the chain broke (None: reached
        the root). Bounded by depth and guarded against cycles."""
        chain: list[int] = []
        seen: set[int] = set()
        current = offset
        for _ in range(MAX_DEPTH):
            if current in seen:
                return chain, current
            seen.add(current)
            chain.append(current)
            if current == self.root_offset:
                return chain, None
            found = self.keys.get(current)
            if found is None:
                return chain[:-1], current
            current = found.nk.parent
        return chain, current

    # -- values of a recovered key

    def _state_ok(self, state: CellState, free: bool) -> bool:
        return state == "damaged" or state == ("free" if free else "allocated")

    def nearby_value_list(self, key_offset: int) -> list[int]:
        """Value records a key record no longer links, found in a free value list after it.

        Some writers clear a key's value count before freeing it (hivex does; so does deleting
        every value first). The list that held the values is often still in free space after
        the key record: the first free cell after the key (and before the next key record,
        within a few KiB) whose entries point at free ``vk`` records, not claimed by another key.
        """
        if key_offset in self._nearby:
            return self._nearby[key_offset]
        i = bisect_right(self._sorted_offsets, key_offset)
        next_key = self._sorted_offsets[i] if i < len(self._sorted_offsets) else self.map.size
        high = min(next_key, key_offset + NEARBY_LIST_WINDOW)
        found: list[int] = []
        for start, end in self.map.free_cells_between(key_offset + 8, high):
            if start in self._claimed_lists:
                continue
            entries = self._vk_entries(start, end)
            if entries:
                found = entries
                self._claimed_lists.add(start)
                break
        self._nearby[key_offset] = found
        return found

    def _vk_entries(self, start: int, end: int) -> list[int]:
        data = self.data
        out: list[int] = []
        pos = BASE_BLOCK_SIZE + start + 4
        limit = BASE_BLOCK_SIZE + end
        while pos + 4 <= limit and len(out) < MAX_NEARBY_ENTRIES:
            (entry,) = _U32.unpack_from(data, pos)
            if entry % 8 or entry >= self.map.size or self.map.state(entry, 4 + _VK_FIXED) != "free":
                break
            at = BASE_BLOCK_SIZE + entry + 4
            if data[at : at + 2] != b"vk":
                break
            out.append(entry)
            pos += 4
        return out

    def read_values(self, nk: NkCell, free: bool) -> ValueRecovery:
        """The values of a recovered key, read only from cells in the state the key is in."""
        diags: list[Diagnostic] = []
        attached: Literal["linked", "nearby_list", "none"] = "none"
        entries: list[int] = []
        declared = nk.value_count
        if declared:
            attached = "linked"
            length = 4 + 4 * declared
            state = self.map.state(nk.value_list, length)
            if not self._state_ok(state, free):
                diags.append(
                    Diagnostic(
                        "recovered_value_list_reused",
                        "",
                        f"the value list at 0x{nk.value_list:x} ({declared} values) is {_STATE_WORDS[state]}; "
                        "values not read",
                        "error",
                    )
                )
                return ValueRecovery([], diags, declared, attached, declared, 0)
            at = BASE_BLOCK_SIZE + nk.value_list + 4
            if at + 4 * declared > len(self.data):
                diags.append(
                    Diagnostic(
                        "recovered_value_unreadable", "", f"the value list at 0x{nk.value_list:x} runs past the file"
                    )
                )
                return ValueRecovery([], diags, declared, attached, declared, 0)
            entries = list(struct.unpack_from(f"<{declared}I", self.data, at))
        elif free and nk.value_list == NO_OFFSET:
            entries = self.nearby_value_list(nk.offset)
            if entries:
                attached = "nearby_list"
                diags.append(
                    Diagnostic(
                        "recovered_values_by_proximity",
                        "",
                        f"the key record no longer links its values; {len(entries)} value(s) taken from the free "
                        "value list that follows it",
                    )
                )
        values: list[RawValue] = []
        unreadable = implausible = 0
        for index, off in enumerate(entries):
            value, why = self._read_value(off, free)
            if value is None:
                unreadable += 1
                diags.append(Diagnostic("recovered_value_unreadable", "", f"value {index} (0x{off:x}): {why}", "error"))
                continue
            if why:
                implausible += 1
                diags.append(Diagnostic("recovered_value_implausible", value.name, why))
            values.append(value)
        return ValueRecovery(values, diags, declared, attached, unreadable, implausible)

    def _read_value(self, off: int, free: bool) -> tuple[RawValue | None, str]:
        state = self.map.state(off, 4 + _VK_FIXED)
        if not self._state_ok(state, free):
            return None, f"the value record's cell is {_STATE_WORDS[state]}"
        try:
            vk = self.cells.vk(off, allow_free=True)
        except CellError as exc:
            return None, str(exc)
        if len(vk.name_raw) > 2 * 16383:
            return None, f"implausible name length {len(vk.name_raw)}"
        if not vk.inline and vk.declared_size:
            try:
                problem = self._data_cells_problem(off, vk.declared_size, free)
            except struct.error:
                problem = "its data cells run past the end of the file"
            if problem:
                return None, f"value {vk.name!r}: {problem}"
        value = RawValue(vk.name, vk.type, vk.data, "recovered", True, vk.notes)
        return value, _implausible_data(value)

    def _data_cells_problem(self, vk_off: int, size: int, free: bool) -> str | None:
        start = BASE_BLOCK_SIZE + vk_off + 4
        (data_off,) = _U32.unpack_from(self.data, start + 8)
        if size > BIG_DATA_SEGMENT and self.base.minor_version >= 4:
            at = BASE_BLOCK_SIZE + data_off + 4
            if self.map.state(data_off, 12) != "outside" and self.data[at : at + 2] == b"db":
                return self._big_data_problem(data_off, free)
        state = self.map.state(data_off, 4 + size)
        if not self._state_ok(state, free):
            return f"its data cell at 0x{data_off:x} is {_STATE_WORDS[state]}"
        return None

    def _big_data_problem(self, db_off: int, free: bool) -> str | None:
        state = self.map.state(db_off, 12)
        if not self._state_ok(state, free):
            return f"its big-data record at 0x{db_off:x} is {_STATE_WORDS[state]}"
        count, seg_list = struct.unpack_from("<HI", self.data, BASE_BLOCK_SIZE + db_off + 6)
        state = self.map.state(seg_list, 4 + 4 * count)
        if not self._state_ok(state, free):
            return f"its big-data segment list at 0x{seg_list:x} is {_STATE_WORDS[state]}"
        for i in range(count):
            (seg,) = _U32.unpack_from(self.data, BASE_BLOCK_SIZE + seg_list + 4 + 4 * i)
            state = self.map.state(seg, 4 + 8)
            if not self._state_ok(state, free):
                return f"big-data segment {i} at 0x{seg:x} is {_STATE_WORDS[state]}"
        return None

    def security(self, nk: NkCell) -> tuple[bytes | None, str | None]:
        """The key's security descriptor if its sk cell is still a security record."""
        if nk.security == NO_OFFSET:
            return None, None
        try:
            return self.cells.security(nk.security, allow_free=True), None
        except CellError as exc:
            return None, str(exc)


def _implausible_data(value: RawValue) -> str:
    """Why recovered data does not look like its type ('' when it does): reused space shows."""
    data = value.data
    if value.type in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ) and data:
        if len(data) % 2:
            return "odd byte count for UTF-16 text"
        text = data.decode("utf-16-le", "replace")
        effective = text.split("\0", 1)[0] if value.type != REG_MULTI_SZ else text.rstrip("\0")
        bad = sum(1 for ch in effective if (ord(ch) < 0x20 and ch not in "\t\r\n\0") or ch == "\ufffd")
        if bad:
            return f"{bad} control or invalid character(s) in recovered text: the data may be overwritten"
    return ""


class RecoveredKey:
    """A key rebuilt from cells the live tree does not reach; reads like :class:`tree.Key`.

    ``state`` is ``deleted`` (its cell is free) or ``orphaned`` (allocated, unreachable).
    Subkeys are the key records whose parent field names this key and that are in the same
    state, newest first (a deleted key's subkeys were deleted with it).
    """

    __slots__ = (
        "_subkeys",
        "_values",
        "ancestors",
        "cell_offset",
        "diagnostics",
        "found",
        "last_write",
        "name",
        "parser",
        "path",
        "recovery",
        "scan",
        "state",
    )

    def __init__(self, scan: KeyScan, found: FoundKey, path: str, ancestors: frozenset[int] = frozenset()) -> None:
        self.scan = scan
        self.found = found
        self.name = found.nk.name
        self.path = path
        self.last_write = found.nk.last_write
        self.cell_offset = found.nk.offset
        self.parser = RECOVERY_PARSER
        self.state: Literal["deleted", "orphaned"] = "deleted" if found.free else "orphaned"
        self.ancestors = ancestors | {found.nk.offset}
        self.diagnostics: list[Diagnostic] = []
        self.recovery: ValueRecovery | None = None
        self._values: list[RawValue] | None = None
        self._subkeys: list[RecoveredKey] | None = None

    def __repr__(self) -> str:
        return f"RecoveredKey({self.path!r}, {self.state}, 0x{self.cell_offset:x})"

    @property
    def nk(self) -> NkCell:
        return self.found.nk

    @property
    def name_raw(self) -> bytes:
        return self.found.nk.name_raw

    def values(self) -> list[RawValue]:
        if self._values is None:
            self.recovery = self.scan.read_values(self.found.nk, self.found.free)
            self._values = self.recovery.values
            self.diagnostics += self.recovery.diagnostics
        return self._values

    def values_by_name(self) -> Mapping[str, RawValue]:
        return values_by_name(self.values())

    def subkeys(self) -> list[RecoveredKey]:
        if self._subkeys is None:
            self._subkeys = []
            if len(self.ancestors) < MAX_DEPTH:
                kids = [self.scan.keys[o] for o in self.scan.children.get(self.cell_offset, ())]
                kids = [k for k in kids if k.free == self.found.free and k.nk.offset not in self.ancestors]
                kids.sort(key=lambda k: -k.nk.last_write)
                self._subkeys = [RecoveredKey(self.scan, k, f"{self.path}\\{k.nk.name}", self.ancestors) for k in kids]
        return self._subkeys

    def subkey(self, name: str) -> RecoveredKey | None:
        want = name.upper()
        return next((k for k in self.subkeys() if k.name.upper() == want), None)

    def security_descriptor(self) -> bytes | None:
        blob, problem = self.scan.security(self.found.nk)
        if problem:
            self.diagnostics.append(Diagnostic("key_security_unreadable", "", problem))
        return blob

    def security_hex(self) -> str | None:
        blob = self.security_descriptor()
        return blob.hex() if blob is not None else None


__all__ = ["CellMap", "FoundKey", "KeyScan", "RecoveredKey", "ValueRecovery", "map_cells"]
