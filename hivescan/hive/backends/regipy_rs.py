"""The default backend: regipy's Rust core (package ``regipy-rs``, installed by ``regipy[rust]``).

It lists subkeys quickly; hivescan checks every key cell it returns and reads value bytes
with its own cell reader (see :mod:`hivescan.hive.cells` for why).

Measured quirks this module works around:
* ``NKRecord.offset`` is the absolute file offset just past the ``nk`` signature, i.e.
  ``4096 + cell offset + 6``;
* ``find_subkey`` missed an existing key by its exact name on the XP test hive, so
  lookups go through :meth:`Backend.find` (a case-insensitive scan of ``subkeys()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hivescan.hive.backends.base import Backend, BackendError, Child, reencode
from hivescan.hive.model import RawValue

_NK_OFFSET_BIAS = 4096 + 6


class RegipyRsBackend(Backend):
    name = "regipy-rs"

    def __init__(self, path: Path) -> None:
        import regipy_rs

        self._mod = regipy_rs
        try:
            self._hive = regipy_rs.RegistryHive(str(path))
            self._root = self._hive.root()
        except regipy_rs.ParsingError as exc:
            raise BackendError(str(exc)) from exc

    def _child(self, nk: Any) -> Child:
        # the name and time are taken from hivescan's own cell parse when the cell checks out
        return Child(nk.name, nk.offset - _NK_OFFSET_BIAS, None, nk)

    def nk_offset(self, handle: Any) -> int | None:
        return int(handle.offset) - _NK_OFFSET_BIAS

    def root(self) -> Child:
        try:
            return self._child(self._root)
        except (self._mod.ParsingError, ValueError, OverflowError, UnicodeError) as exc:
            raise BackendError(str(exc)[:300]) from exc

    def children(self, handle: Any) -> list[Child]:
        try:
            if not handle.subkey_count:
                return []
            new = tuple.__new__  # _child() inlined, without Child's Python-level __new__: one per subkey listed
            return [new(Child, (nk.name, nk.offset - _NK_OFFSET_BIAS, None, nk)) for nk in handle.subkeys()]
        except (self._mod.ParsingError, ValueError, OverflowError, UnicodeError) as exc:
            raise BackendError(str(exc)[:300]) from exc

    def values(self, handle: Any) -> list[RawValue]:
        try:
            if not handle.values_count:
                return []
            decoded, err = handle.values(as_json=False, trim_values=False, max_len=0)
        except (self._mod.ParsingError, ValueError, OverflowError, UnicodeError) as exc:
            raise BackendError(str(exc)[:300]) from exc
        out = [reencode(name, vtype, value, self.name) for name, vtype, value, _corrupt, _ft in decoded]
        if err and not out:
            raise BackendError(str(err)[:300])
        return out
