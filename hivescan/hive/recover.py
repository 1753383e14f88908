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

The parts live in modules named for what they hold: :mod:`hivescan.hive.cellmap` (the
bins walked cell by cell), :mod:`hivescan.hive.recovervalues` (a recovered key's values),
:mod:`hivescan.hive.recoveredkey` (the Key-like view of one); this module finds the key
records and their parent chains. Their public names stay importable from here.

Nothing here knows about services: :mod:`hivescan.scm.deleted` picks the service keys.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from hivescan.hive.cellmap import CellMap, CellState, map_cells
from hivescan.hive.cells import NO_OFFSET, CellError, Cells, NkCell
from hivescan.hive.header import BASE_BLOCK_SIZE, BaseBlock
from hivescan.hive.recoveredkey import MAX_DEPTH, RECOVERY_PARSER, RecoveredKey
from hivescan.hive.recovervalues import MAX_NEARBY_ENTRIES, NEARBY_LIST_WINDOW, RecoveredValues, ValueRecovery

Where = Literal["allocated", "free", "damaged"]

MAX_NAME_BYTES = 512  # 255 UTF-16 characters (the registry's limit) fit in 510
MAX_PLAUSIBLE_SUBKEYS = 10_000  # yarp's limits for keys found in free space
MAX_PLAUSIBLE_VALUES = 1_000
_NK_SIGNATURE = re.compile(b"nk")
_NK_FIXED = 0x4C


class FoundKey(NamedTuple):
    """A key record found by the scan, and what its cell is now."""

    nk: NkCell
    where: Where  # allocated cell, inside free space, or in a damaged bin (own size field decides)

    @property
    def free(self) -> bool:
        return self.where == "free" or (self.where == "damaged" and not self.nk.allocated)


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


class KeyScan(RecoveredValues):
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

    def security(self, nk: NkCell) -> tuple[bytes | None, str | None]:
        """The key's security descriptor if its sk cell is still a security record."""
        if nk.security == NO_OFFSET:
            return None, None
        try:
            return self.cells.security(nk.security, allow_free=True), None
        except CellError as exc:
            return None, str(exc)


__all__ = [
    "MAX_DEPTH",
    "MAX_NEARBY_ENTRIES",
    "NEARBY_LIST_WINDOW",
    "RECOVERY_PARSER",
    "CellMap",
    "CellState",
    "FoundKey",
    "KeyScan",
    "RecoveredKey",
    "ValueRecovery",
    "map_cells",
]
