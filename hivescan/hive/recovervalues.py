"""The values of a recovered key, read only from cells still in the state the key is in.

A deleted key's value list, value records and data cells are read only while they are
still free (an orphaned key's: still allocated); a cell that was reused belongs to someone
else and is never read as this key's, and what cannot be read is said in a diagnostic.
:class:`RecoveredValues` is the part of :class:`hivescan.hive.recover.KeyScan` that does
this; it reads the scan's data, cell map and cell reader.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from typing import Literal, NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cellmap import CellMap, CellState
from hivescan.hive.cells import BIG_DATA_SEGMENT, NO_OFFSET, CellError, Cells, NkCell
from hivescan.hive.header import BASE_BLOCK_SIZE, BaseBlock
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ

NEARBY_LIST_WINDOW = 8192  # how far after a key record a stray value list may sit
MAX_NEARBY_ENTRIES = 256
_U32 = struct.Struct("<I")
_VK_FIXED = 0x14

_STATE_WORDS = {
    "allocated": "allocated to live data now (reused)",
    "free": "free",
    "overwritten": "overlapped by an allocated cell now (overwritten)",
    "damaged": "in a damaged bin",
    "outside": "not a cell in the hive bins (the pointer was overwritten)",
}


class ValueRecovery(NamedTuple):
    """What could be read of a recovered key's values, and how they were found."""

    values: list[RawValue]
    diagnostics: list[Diagnostic]
    declared: int  # values the key record declares (0 when it no longer links them)
    attached: Literal["linked", "nearby_list", "none"]  # how the values were tied to the key
    unreadable: int  # values that could not be read (reused, overwritten, malformed)
    implausible: int  # values read whose data does not look like their type


class RecoveredValues:
    """Reading a recovered key's values; mixed into :class:`hivescan.hive.recover.KeyScan`, which sets these."""

    data: bytes
    base: BaseBlock
    cells: Cells
    map: CellMap
    _claimed_lists: set[int]
    _nearby: dict[int, list[int]]
    _sorted_offsets: list[int]

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
