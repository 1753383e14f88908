"""Fallback backend: regipy's pure-Python parser (slow, but an independent code path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hivescan.hive.backends.base import Backend, BackendError, Child, reencode
from hivescan.hive.model import RawValue


class RegipyBackend(Backend):
    name = "regipy"

    def __init__(self, path: Path) -> None:
        from regipy.exceptions import RegipyException
        from regipy.registry import RegistryHive

        self._errors: tuple[type[BaseException], ...] = (RegipyException, Exception)
        try:
            self._hive = RegistryHive(str(path))
        except Exception as exc:  # construct/regipy raise many unrelated types on bad input
            raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    def subkey_list_offset(self, handle: Any) -> int | None:
        header = handle.header  # the nk fields as regipy parsed them; iter_subkeys() follows these
        return int(header.subkeys_list_offset) if header.subkey_count else None

    def root(self) -> Child:
        try:
            root = self._hive.root
            return Child(root.name, None, int(root.header.last_modified), root)
        except Exception as exc:
            raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    def children(self, handle: Any) -> list[Child]:
        try:
            return [Child(nk.name, None, int(nk.header.last_modified), nk) for nk in handle.iter_subkeys()]
        except Exception as exc:  # the library raises construct errors, KeyError, ... on damage
            raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    def values(self, handle: Any) -> list[RawValue]:
        out: list[RawValue] = []
        try:
            for value in handle.iter_values(as_json=False, trim_values=False):
                out.append(reencode(value.name, str(value.value_type), value.value, self.name))
        except Exception as exc:
            if not out:
                raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return out
