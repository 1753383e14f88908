"""One key of the tree: its nk facts, and its subkeys and values read lazily by its reader.

A :class:`Key` holds what the key's cell says; listing and value reading (with every check
and fallback) belong to :class:`hivescan.hive.tree.HiveReader`, which a key asks once and
caches the answer of.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import KEY_SYM_LINK, LAYER_INHERIT_CLASS, CellError, NkCell, layer_semantics
from hivescan.hive.model import RawValue
from hivescan.hive.names import upcase

if TYPE_CHECKING:
    from hivescan.hive.tree import HiveReader


class Key:
    """One key: name, path from the root, last-write time, subkeys and values (read lazily)."""

    __slots__ = (
        "_by_name",
        "_handle",
        "_nk",
        "_subkeys",
        "_values",
        "ancestors",
        "cell_offset",
        "diagnostics",
        "last_write",
        "name",
        "parser",
        "path",
        "reader",
    )

    def __init__(
        self,
        reader: HiveReader,
        name: str,
        path: str,
        last_write: int,
        cell_offset: int | None,
        parser: str,
        handle: Any,
        nk: NkCell | None,
        ancestors: frozenset[int],
    ) -> None:
        self.reader = reader
        self.name = name
        self.path = path
        self.last_write = last_write
        self.cell_offset = cell_offset
        self.parser = parser
        self._handle = handle
        self._nk = nk
        self.ancestors = ancestors
        self.diagnostics: list[Diagnostic] = []
        self._subkeys: list[Key] | None = None
        self._values: list[RawValue] | None = None
        self._by_name: dict[str, RawValue] | None = None

    def __repr__(self) -> str:
        return f"Key({self.path!r}, parser={self.parser!r})"

    # -- facts from the nk record

    @property
    def declared_subkey_count(self) -> int | None:
        return self._nk.subkey_count if self._nk else None

    @property
    def flags(self) -> int:
        return self._nk.flags if self._nk else 0

    @property
    def is_symlink(self) -> bool:
        return bool(self.flags & KEY_SYM_LINK)

    @property
    def name_raw(self) -> bytes | None:
        return self._nk.name_raw if self._nk else None

    def class_name(self) -> str | None:
        if self._nk is None:
            return None
        try:
            return self.reader.cells.class_name(self._nk)
        except CellError as exc:
            self._note("class_name_unreadable", "", str(exc))
            return None

    def security_descriptor(self) -> bytes | None:
        """The key's own registry security (its sk cell), raw."""
        hexed = self.security_hex()
        return bytes.fromhex(hexed) if hexed is not None else None

    def security_hex(self) -> str | None:
        return self.reader.security_hex(self)

    # -- subkeys

    def subkeys(self) -> list[Key]:
        if self._subkeys is None:
            self._subkeys = self.reader._list_subkeys(self)
        return self._subkeys

    def subkey(self, name: str) -> Key | None:
        """First subkey with this name (ci); later duplicates are flagged by the reader."""
        want = upcase(name)
        for key in self.subkeys():
            if upcase(key.name) == want:
                return key
        return None

    def walk(self) -> Iterator[Key]:
        yield self
        for sub in self.subkeys():
            yield from sub.walk()

    # -- values

    def values(self) -> list[RawValue]:
        if self._values is None:
            self._values, self._by_name = self.reader._read_values(self)
        return self._values

    def values_by_name(self) -> Mapping[str, RawValue]:
        """:func:`values_by_name` of :meth:`values` (made while they are read and checked)."""
        if self._by_name is None:
            self._values, self._by_name = self.reader._read_values(self)
        return self._by_name

    def value(self, name: str) -> RawValue | None:
        want = upcase(name)
        for value in self.values():
            if upcase(value.name) == want:
                return value
        return None

    def _note(self, code: str, field: str, message: str, level: str = "warning") -> None:
        self.diagnostics.append(Diagnostic(code, field, message, level))  # type: ignore[arg-type]

    def _note_layered(self, nk: NkCell) -> None:
        """Say what a key of a differencing hive does to the key below it (see cells.layer_semantics)."""
        semantics = layer_semantics(nk)
        what = {
            "none": "merged with the key of this path in the layer below",
            "tombstone": "deletes the key of this path in the layer below (a tombstone: no values or subkeys)",
            "supersede_local": "replaces the key of this path in the layer below (its values), not its subkeys",
            "supersede_tree": "replaces the key of this path and its whole subtree in the layer below",
        }[semantics]
        inherit = "; inherits its class name from the layer below" if nk.layered & LAYER_INHERIT_CLASS else ""
        level = "warning" if semantics == "tombstone" else "info"
        self._note("layered_key", "", f"layered key ({semantics}): {what}{inherit}", level)
