"""The key tree of one hive: checked, case-insensitive, with parser fallback.

A :class:`HiveReader` opens hive bytes; :class:`Key` objects list subkeys and values.
What a parser library reports is never taken on trust:

* every subkey a backend lists must be an allocated ``nk`` cell, else it is skipped with a
  diagnostic (a damaged subkey list points into unrelated data);
* when fewer valid subkeys come back than the key's ``nk`` record declares, the next
  backend is asked, and the best answer is kept with a diagnostic naming the parser;
* value bytes come from the cell reader; when a value cell is unreadable, the backends'
  decoded values are used, marked as re-encoded;
* cycles in subkey lists and absurd depths stop the walk with a diagnostic.

The parts live beside this module: :mod:`hivescan.hive.names` (``upcase``,
``values_by_name``), :mod:`hivescan.hive.key` (:class:`Key`) and
:mod:`hivescan.hive.fallback` (the careful listing through every parser and the values
fallback, taken when the fast path here declines). The reader keeps what runs for every key
(the fast listing and the value reading) and re-exports the names others import from here.

References: scm-spec.md §9.1, §9.3; docs/design.md.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import HiveClosed, HiveDamaged, NotAHive
from hivescan.hive.backends.base import Backend, BackendError, Child
from hivescan.hive.cells import NO_OFFSET, CellError, Cells
from hivescan.hive.fallback import CellsOnly, check_nk, fallback_values, list_subkeys_checked
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, log_file_type, parse_base_block
from hivescan.hive.key import Key
from hivescan.hive.model import RawValue
from hivescan.hive.names import upcase, values_by_name
from hivescan.hive.source import HiveSource, file_for_library

__all__ = ["BACKEND_ORDER", "MAX_DEPTH", "HiveReader", "Key", "open_reader", "upcase", "values_by_name"]

MAX_DEPTH = 512  # the registry's own nesting limit
BACKEND_ORDER = ("regipy-rs", "regipy", "python-registry")


class HiveReader:
    """An open hive: base block, cells, and the backends that list its keys."""

    def __init__(
        self,
        source: HiveSource,
        *,
        backend: str = "regipy-rs",
        max_value_bytes: int = 1 << 20,
    ) -> None:
        data = source.data
        if len(data) < 4 or data[:4] != REGF_SIGNATURE:
            raise NotAHive(f"{source.path}: not a registry hive (no 'regf' signature)")
        log_type = log_file_type(data)
        if log_type is not None:
            raise NotAHive(f"{source.path}: not a registry hive (a transaction log: base block file type {log_type})")
        if len(data) < BASE_BLOCK_SIZE + 32:
            raise HiveDamaged(f"{source.path}: truncated hive ({len(data)} bytes, no hive bins)")
        self.source = source
        self.base: BaseBlock = parse_base_block(data)
        self.cells = Cells(data, minor_version=self.base.minor_version, max_value_bytes=max_value_bytes)
        self.diagnostics: list[Diagnostic] = []
        self.invalid_subkey_entries = 0
        self._stack = ExitStack()
        self._path: Path | None = None
        self._backends: dict[str, Backend | None] = {}
        self._cells_backend = CellsOnly()
        self._sk_cache: dict[int, str | CellError] = {}
        self._list_faults: dict[int, str | None] = {}
        # key cells already given out as a subkey: each key cell has one place in the tree, so
        # one listed again under another key (lists shared or crossed by damage or by design)
        # is skipped, which keeps the keys read at most the key cells in the file (no blow-up)
        self._listed: set[int] = set()
        # listings a compiled walk made in place of the reader (hivescan.scm.keywalk): parent
        # key cell -> the key cells it took into _listed for that parent (see claim_listing)
        self._claimed: dict[int, tuple[int, ...]] = {}
        # fallback lookups by path: (backend, upper-case path) -> what that library lists there
        self._library_listings: dict[tuple[str, tuple[str, ...]], dict[str, Child]] = {}
        self._check_layout()
        order = [backend] + [b for b in BACKEND_ORDER if b != backend]
        self._order = order
        primary: Backend | None = None
        root: Child | None = None
        for name in order:
            candidate = self._backend(name)
            if candidate is None:
                continue
            try:
                root = candidate.root()
            except BackendError as exc:
                self._hive_note("backend_failed", f"{name} could not read the root key: {exc}")
                continue
            primary = candidate
            break
        if primary is None or root is None:
            self.close()
            raise HiveDamaged(f"{source.path}: no parser could read the root key")
        self.primary = primary
        if root.cell_offset is None:  # the library hides it; the base block names it
            root = Child(root.name, self.base.root_cell_offset, root.last_write, root.handle)
        self._root: Key | None = self._make_key(root, primary, "", frozenset(), is_root=True)
        if root.cell_offset is not None:
            self._listed.add(root.cell_offset)
        if self._root._nk is None and primary.name == "regipy-rs":
            self._hive_note("root_cell_unverified", "the root key cell could not be checked", "warning")

    # -- lifecycle

    def close(self) -> None:
        for backend in self._backends.values():
            if backend is not None:
                backend.close()
        self._backends.clear()
        self._library_listings.clear()
        self._stack.close()
        # Keys point back at their reader, and the reader's root reaches (through cached
        # listings) every key read so far: a reference cycle that holds the hive's bytes and
        # thousands of values until the cyclic collector happens to run. Dropping the root
        # breaks it, so closing a hive frees its memory at once.
        self._root = None

    def __enter__(self) -> HiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public

    def root(self) -> Key:
        if self._root is None:
            raise HiveClosed(f"{self.source.path}: the hive was closed")
        return self._root

    def key(self, path: str) -> Key | None:
        node: Key | None = self.root()
        for part in [p for p in path.split("\\") if p]:
            node = node.subkey(part) if node else None
        return node

    def security_hex(self, key: Key) -> str | None:
        """Hex of a key's security descriptor. sk cells are shared by many keys (a few
        dozen descriptors for thousands of keys), so each is read and hexed once."""
        nk = key._nk
        if nk is None or nk.security == NO_OFFSET:
            return None
        cached = self._sk_cache.get(nk.security)
        if cached is None:
            try:
                cached = self.cells.security(nk.security).hex()
            except CellError as exc:
                cached = exc
            self._sk_cache[nk.security] = cached
        if isinstance(cached, CellError):
            key._note("key_security_unreadable", "", str(cached))
            return None
        return cached

    def claim_listing(self, parent_offset: int, offsets: tuple[int, ...]) -> None:
        """Take the key cells ``offsets`` into the listing bookkeeping as the subkeys of the key
        cell ``parent_offset``, without making Key objects: for a compiled walk that proved the
        reader's fast listing would list exactly these, with no note (hivescan.scm.keywalk).

        A later :meth:`Key.subkeys` of that key hands them back first and then lists as
        usual, so it gives the Keys and notes it would have given had it listed them then.
        """
        if parent_offset in self._claimed or not self._listed.isdisjoint(offsets):
            raise ValueError(f"key cell 0x{parent_offset:x}: its listing is not the reader's to give")
        self._listed.update(offsets)
        self._claimed[parent_offset] = offsets

    # -- internals

    def _hive_note(self, code: str, message: str, level: str = "warning") -> None:
        self.diagnostics.append(Diagnostic(code, "", message, level))  # type: ignore[arg-type]

    def _check_layout(self) -> None:
        base, size = self.base, len(self.source.data)
        expected = BASE_BLOCK_SIZE + base.hive_bins_data_size
        if base.hive_bins_data_size % 4096 or base.hive_bins_data_size == 0:
            self._hive_note("hive_bins_size_odd", f"base block states hive bins size {base.hive_bins_data_size}")
        if size < expected:
            self._hive_note(
                "hive_truncated",
                f"file has {size} bytes but the base block describes {expected}; keys past the end are lost",
                "error",
            )
        if base.differencing:
            self._hive_note(
                "differencing_hive",
                "a differencing (delta) hive (base block flag 0x2): it holds only what one layer (a Windows "
                "container or Sandbox) changes over the hive below it; keys and values marked as tombstones delete "
                "theirs below, and what is absent here comes from the layer below",
            )
        if self.source.unread_tail:
            self._hive_note(
                "hive_file_tail_not_read",
                f"the file holds {self.source.unread_tail} bytes past the {size} its base block describes "
                "(far more than the hive); they were not read (the sha256 covers the whole file)",
            )
        if self.source.data[BASE_BLOCK_SIZE : BASE_BLOCK_SIZE + 4] != b"hbin":
            self._hive_note("first_hbin_missing", "no 'hbin' signature at offset 4096", "error")
        if not base.checksum_ok:
            self._hive_note(
                "base_block_checksum_mismatch",
                f"stored 0x{base.stored_checksum:08x}, computed 0x{base.computed_checksum:08x}",
            )
        if base.major_version != 1 or base.minor_version not in (2, 3, 4, 5, 6):
            self._hive_note("unknown_hive_version", f"regf version {base.version}")

    def _library_path(self) -> Path:
        if self._path is None:
            self._path = self._stack.enter_context(file_for_library(self.source))
        return self._path

    def _backend(self, name: str) -> Backend | None:
        if name == "cells":
            return self._cells_backend
        if name in self._backends:
            return self._backends[name]
        backend: Backend | None = None
        try:
            if name == "regipy-rs":
                from hivescan.hive.backends.regipy_rs import RegipyRsBackend

                backend = RegipyRsBackend(self._library_path())
            elif name == "regipy":
                from hivescan.hive.backends.regipy_py import RegipyBackend

                backend = RegipyBackend(self._library_path())
            elif name == "python-registry":
                from hivescan.hive.backends.python_registry import PythonRegistryBackend

                backend = PythonRegistryBackend(self.source.data)
            else:
                raise ValueError(f"unknown backend {name!r}")
        except BackendError as exc:
            self._hive_note("backend_failed", f"{name} could not open the hive: {exc}")
        except ImportError as exc:
            self._hive_note("backend_unavailable", f"{name} is not installed: {exc}")
        self._backends[name] = backend
        return backend

    def _list_fault(self, list_offset: int) -> str | None:
        """Why the subkey list at ``list_offset`` must not reach a library (cached), or None."""
        if list_offset not in self._list_faults:
            self._list_faults[list_offset] = self.cells.subkey_list_fault(list_offset)
        return self._list_faults[list_offset]

    def _make_key(
        self, child: Child, backend: Backend, parent_path: str, ancestors: frozenset[int], *, is_root: bool = False
    ) -> Key:
        nk, _ = check_nk(self.cells, child.cell_offset)
        name = nk.name if nk is not None else child.name  # trust the cell over the library's decoding
        if is_root:
            path = ""
        else:
            path = f"{parent_path}\\{name}" if parent_path else name
        last_write = child.last_write if child.last_write is not None else (nk.last_write if nk else 0)
        own = frozenset({child.cell_offset}) if child.cell_offset is not None else frozenset()
        key = Key(self, name, path, last_write, child.cell_offset, backend.name, child.handle, nk, ancestors | own)
        if nk is not None and nk.layered:
            key._note_layered(nk)
        return key

    def _list_subkeys(self, parent: Key) -> list[Key]:
        if self._claimed and parent.cell_offset in self._claimed:
            # claimed by a compiled walk at the moment the reader would have listed them:
            # given back, they are listed now exactly as they would have been then
            self._listed.difference_update(self._claimed.pop(parent.cell_offset))
        if len(parent.ancestors) >= MAX_DEPTH:
            parent._note("key_depth_limit", "", f"deeper than {MAX_DEPTH} levels; subkeys not read", "error")
            return []
        fast = self._list_subkeys_fast(parent)
        return fast if fast is not None else list_subkeys_checked(self, parent)

    def _list_subkeys_fast(self, parent: Key) -> list[Key] | None:
        """The common case: the key's own backend lists every declared subkey, all real
        key cells, no cycles. Anything else -> None (the careful path).

        Names alike (ci) are noted on the parent exactly as the careful path notes them
        (``duplicate_ci_name``, in listing order): a complete, checked listing is all the
        careful path would keep, so it need not list the key again (a test compares both).
        """
        nk = parent._nk
        if nk is None or parent._handle is None:
            return None
        if nk.subkey_count == 0:
            return []
        backend = self._backends.get(parent.parser)
        if backend is None or self._list_fault(nk.subkey_list) is not None:
            return None
        try:
            listed = backend.children(parent._handle)
        except BackendError:
            return None
        if len(listed) != nk.subkey_count:
            return None
        # every entry a key cell of its own: none hidden, twice, an ancestor or listed elsewhere
        # (checked on the whole listing at once; reading a cell has no effect, so the order of
        # the checks does not change the answer)
        offsets = [child.cell_offset for child in listed if child.cell_offset is not None]
        taken = set(offsets)
        ancestors = parent.ancestors
        if len(taken) != len(listed) or not taken.isdisjoint(ancestors) or not taken.isdisjoint(self._listed):
            return None
        cells_nk = self.cells.nk
        prefix = parent.path + "\\" if parent.path else ""
        parser = backend.name
        keys: list[Key] = []
        uppers: list[str] = []
        for child, off in zip(listed, offsets, strict=True):
            try:
                child_nk = cells_nk(off)
            except CellError:
                return None
            name = child_nk.name  # the cell's name: regipy-rs decodes Latin-1 names as ASCII
            uppers.append(name.upper() if name.isascii() else upcase(name))
            key = Key(
                self, name, prefix + name, child_nk.last_write, off, parser, child.handle, child_nk, ancestors | {off}
            )
            if child_nk.layered:
                key._note_layered(child_nk)
            keys.append(key)
        self._listed.update(taken)
        if len(set(uppers)) != len(uppers):  # names alike (ci): noted as fallback.list_subkeys_checked notes them
            seen: set[str] = set()
            for key, upper in zip(keys, uppers, strict=True):
                if upper in seen:
                    name = key.name
                    parent._note(
                        "duplicate_ci_name", name, f"two subkeys named {name!r} (ci); lookups use the first", "error"
                    )
                seen.add(upper)
        return keys

    def _read_values(self, key: Key) -> tuple[list[RawValue], dict[str, RawValue]]:
        """The key's values and :func:`values_by_name` of them, with its reading diagnostics."""
        nk = key._nk
        out: list[RawValue] = []
        failed = False
        if nk is not None:
            try:
                out, problems = self.cells.values(nk)
            except CellError as exc:
                key._note("value_list_unreadable", "", str(exc), "error")
                problems = []
                failed = nk.value_count > 0
            for problem in problems:
                key._note("value_unreadable", "", problem, "error")
                failed = True
        else:
            failed = True
        if failed:
            out = fallback_values(self, key, out)
        by_name: dict[str, RawValue] = {}
        for value in out:
            if value.notes and value.exact:  # what the cell reader had to do (re-encoded: the decoders say so)
                for note in value.notes:
                    code, _, message = note.partition(": ")
                    key._note(code, value.name, message, "warning" if code == "value_tombstone" else "error")
            name = value.name
            upper = name.upper() if name.isascii() else upcase(name)
            if upper in by_name:
                key._note(
                    "duplicate_ci_name", value.name, f"two values named {value.name!r} (ci); the first is used", "error"
                )
            else:
                by_name[upper] = value
        return out, by_name


def open_reader(path: str | os.PathLike[str], **options: Any) -> HiveReader:
    """Open a hive file for reading (convenience for tests and tools)."""
    return HiveReader(HiveSource.from_file(path), **options)
