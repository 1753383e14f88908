"""A key rebuilt from cells the live tree does not reach, read like a live key.

The scan (:class:`hivescan.hive.recover.KeyScan`) finds the key records; this view gives one
of them the live key's reading interface (name, path, values, subkeys, security) so the
service rebuild reads a deleted service like a live one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import NkCell
from hivescan.hive.model import RawValue
from hivescan.hive.recovervalues import ValueRecovery
from hivescan.hive.tree import values_by_name

if TYPE_CHECKING:
    from hivescan.hive.recover import FoundKey, KeyScan

MAX_DEPTH = 512  # the registry's own nesting limit bounds parent chains
RECOVERY_PARSER = "hivescan-recover"


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
