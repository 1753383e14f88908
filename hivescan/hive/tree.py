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

References: scm-spec.md §9.1, §9.3; docs/design.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import HiveClosed, HiveDamaged, NotAHive
from hivescan.hive.backends.base import Backend, BackendError, Child
from hivescan.hive.cells import (
    KEY_SYM_LINK,
    LAYER_INHERIT_CLASS,
    NO_OFFSET,
    CellError,
    Cells,
    NkCell,
    layer_semantics,
)
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, log_file_type, parse_base_block
from hivescan.hive.model import RawValue
from hivescan.hive.source import HiveSource, file_for_library

MAX_DEPTH = 512  # the registry's own nesting limit
BACKEND_ORDER = ("regipy-rs", "regipy", "python-registry")


def upcase(name: str) -> str:
    """Ordinal, length-preserving upper case of a registry name (scm-spec §9.3)."""
    if name.isascii():
        return name.upper()
    out = []
    for ch in name:
        up = ch.upper()
        out.append(up if len(up) == 1 else ch)
    return "".join(out)


def values_by_name(values: Sequence[RawValue]) -> dict[str, RawValue]:
    """Values by ordinal upper-case name, in order; of names alike (ci) the first (scm-spec §9.3)."""
    by_name: dict[str, RawValue] = {}
    for value in values:
        name = value.name
        by_name.setdefault(name.upper() if name.isascii() else upcase(name), value)
    return by_name


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
        self._cells_backend = _CellsOnly()
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

    def _guard(self, backend: Backend, handle: Any) -> None:
        """Stop a library before it lists a key whose subkey list is not sound.

        Called before every listing a library makes: regipy-rs follows an index root that
        points at itself (or two that point at each other) for ever, allocating until the
        process dies, so the list is checked with the cell reader first. Raises BackendError.
        """
        try:
            nk_offset = backend.nk_offset(handle)
        except (AttributeError, TypeError, ValueError) as exc:
            raise BackendError(f"{backend.name}: no key offset to check its subkey list ({exc})") from exc
        if nk_offset is not None:
            try:
                nk = self.cells.nk(nk_offset)
            except CellError as exc:
                raise BackendError(f"{backend.name}: key record unreadable ({exc})") from exc
            list_offset: int | None = nk.subkey_list if nk.subkey_count else None
        else:
            try:
                list_offset = backend.subkey_list_offset(handle)
            except (AttributeError, TypeError, ValueError) as exc:
                raise BackendError(f"{backend.name}: no subkey-list offset to check ({exc})") from exc
        if list_offset is not None:
            fault = self._list_fault(list_offset)
            if fault is not None:
                raise BackendError(f"subkey list not handed to {backend.name}: {fault}")

    def _find(self, backend: Backend, path: str) -> Child | None:
        """The key at ``path`` as ``backend`` lists it (names case-insensitive, the first of alike).

        Each library listing on the way is made once per hive and kept: on a damaged hive
        hundreds of keys fall back to the libraries, and looking each up from the root again
        listed the big Services key hundreds of times (minutes, and memory the paused
        collector could not free). Every listing is guarded (see :meth:`_guard`).
        """
        node = backend.root()
        done: tuple[str, ...] = ()
        for part in (p for p in path.split("\\") if p):
            listing = self._library_listings.get((backend.name, done))
            if listing is None:
                self._guard(backend, node.handle)
                listing = {}
                for child in backend.children(node.handle):
                    listing.setdefault(upcase(child.name), child)
                self._library_listings[(backend.name, done)] = listing
            found = listing.get(upcase(part))
            if found is None:
                return None
            node, done = found, (*done, upcase(part))
        return node

    def _check_nk(self, offset: int | None) -> tuple[NkCell | None, str | None]:
        if offset is None:
            return None, None
        try:
            return self.cells.nk(offset), None
        except CellError as exc:
            return None, str(exc)

    def _make_key(
        self, child: Child, backend: Backend, parent_path: str, ancestors: frozenset[int], *, is_root: bool = False
    ) -> Key:
        nk, _ = self._check_nk(child.cell_offset)
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

    def _pair_offsets(self, parent: Key, listed: list[Child]) -> list[Child]:
        """Give offsets to children of a library that hides them (regipy): it walks the same
        subkey list in the same order, so entry i is the cell the list names at position i."""
        if parent._nk is None or all(c.cell_offset is not None for c in listed):
            return listed
        try:
            offsets = self.cells.subkey_offsets(parent._nk.subkey_list)
        except CellError:
            return listed
        if len(offsets) != len(listed):
            return listed
        return [Child(c.name, off, c.last_write, c.handle) for c, off in zip(listed, offsets, strict=True)]

    def _valid_children(self, parent: Key, listed: list[Child]) -> tuple[list[Child], list[str], bool]:
        """Children that are real key cells, the problems found, and whether they were verifiable."""
        valid: list[Child] = []
        problems: list[str] = []
        verified = True
        taken: set[int] = set()
        listed = self._pair_offsets(parent, listed)
        for index, child in enumerate(listed):
            if child.cell_offset is None:
                verified = False  # the library hides offsets: nothing to check against
                valid.append(child)
                continue
            nk, why = self._check_nk(child.cell_offset)
            if nk is None:
                problems.append(f"entry {index} (offset 0x{child.cell_offset:x}): {why}")
                continue
            if child.cell_offset in parent.ancestors:
                problems.append(f"entry {index} (offset 0x{child.cell_offset:x}) points back at an ancestor (cycle)")
                continue
            if child.cell_offset in self._listed or child.cell_offset in taken:
                problems.append(f"entry {index} (offset 0x{child.cell_offset:x}) names a key already listed elsewhere")
                continue
            taken.add(child.cell_offset)
            valid.append(child)
        return valid, problems, verified

    def _list_subkeys(self, parent: Key) -> list[Key]:
        if self._claimed and parent.cell_offset in self._claimed:
            # claimed by a compiled walk at the moment the reader would have listed them:
            # given back, they are listed now exactly as they would have been then
            self._listed.difference_update(self._claimed.pop(parent.cell_offset))
        if len(parent.ancestors) >= MAX_DEPTH:
            parent._note("key_depth_limit", "", f"deeper than {MAX_DEPTH} levels; subkeys not read", "error")
            return []
        fast = self._list_subkeys_fast(parent)
        return fast if fast is not None else self._list_subkeys_checked(parent)

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
        if len(set(uppers)) != len(uppers):  # names alike (ci): noted as _list_subkeys_checked notes them
            seen: set[str] = set()
            for key, upper in zip(keys, uppers, strict=True):
                if upper in seen:
                    name = key.name
                    parent._note(
                        "duplicate_ci_name", name, f"two subkeys named {name!r} (ci); lookups use the first", "error"
                    )
                seen.add(upper)
        return keys

    def _cells_children(self, parent: Key) -> tuple[str, list[Child], list[str], bool, Backend] | None:
        """Last resort: list the subkeys entry by entry from the cells. The libraries give up
        on a whole list when one entry is unreadable (e.g. cut off by truncation); this keeps
        every sibling that can still be read."""
        assert parent._nk is not None
        try:
            offsets, list_problems = self.cells.subkey_list(parent._nk.subkey_list)
        except CellError:
            return None
        children = [Child("", off, None, None) for off in offsets]
        valid, problems, _ = self._valid_children(parent, children)
        problems = list_problems + problems
        named = []
        for child in valid:
            offset = child.cell_offset
            assert offset is not None  # every entry here came with its offset
            nk = self.cells.nk(offset)  # checked by _valid_children
            named.append(Child(nk.name, offset, nk.last_write, None))
        return ("cells", named, problems, True, self._cells_backend)

    def _list_subkeys_checked(self, parent: Key) -> list[Key]:
        declared = parent.declared_subkey_count
        Attempt = tuple[str, list[Child], list[str], bool, Backend]
        attempts: list[Attempt] = []
        errors: list[str] = []
        nk = parent._nk
        fault = self._list_fault(nk.subkey_list) if nk is not None and nk.subkey_count else None
        if fault is not None:
            parent._note(
                "subkey_list_unsound",
                "",
                f"{fault}; the list was read entry by entry by hivescan, not by the parser libraries",
                "error",
            )
            self._hive_note("subkey_list_unsound", f"{parent.path or '(root)'}: {fault}", "error")
        for name in [parent.parser] + [b for b in self._order if b != parent.parser]:
            backend = self._backend(name)
            if backend is None or fault is not None:
                continue
            try:
                if name == parent.parser and parent._handle is not None:
                    handle = parent._handle
                else:
                    found = self._find(backend, parent.path)
                    if found is None:
                        errors.append(f"{name} does not find this key")
                        continue
                    handle = found.handle
                self._guard(backend, handle)
                listed = backend.children(handle)
            except BackendError as exc:
                errors.append(f"{name}: {exc}")
                continue
            valid, problems, verified = self._valid_children(parent, listed)
            attempts.append((name, valid, problems, verified, backend))
            if verified and (declared is None or len(valid) >= declared):
                break  # complete and checked: no need to ask another parser
        best_verified = max((len(a[1]) for a in attempts if a[3]), default=-1)
        if parent._nk is not None and (declared is None or best_verified < declared):
            own = self._cells_children(parent)
            if own is not None and len(own[1]) > best_verified:
                attempts.append(own)
            elif own is None and fault is not None:  # the list cell itself is unreadable: nothing listed
                attempts.append(("cells", [], [], True, self._cells_backend))
        # a parser whose answer cannot be checked never overrules one whose answer was checked
        verified_attempts = [a for a in attempts if a[3]]
        pool = verified_attempts or attempts
        if not pool:
            parent._note("subkeys_unreadable", "", "no parser could list the subkeys: " + "; ".join(errors), "error")
            self._hive_note("subkeys_unreadable", f"{parent.path or '(root)'}: subkeys could not be listed", "error")
            return []
        name, valid, problems, verified, backend = max(pool, key=lambda a: len(a[1]))  # first wins ties
        tried_names = ", ".join([a[0] for a in attempts] + [e.split(":")[0] for e in errors])
        if not verified:
            parent._note(
                "subkeys_unverified",
                "",
                f"subkeys listed by {name}, which does not expose cell offsets; they could not be checked",
            )
        if problems:
            self.invalid_subkey_entries += len(problems)
            shown = "; ".join(problems[:5]) + (f"; ... {len(problems) - 5} more" if len(problems) > 5 else "")
            parent._note(
                "subkey_entries_invalid",
                "",
                f"{len(problems)} subkey-list entries are unusable (not a key record, a cycle, listed twice) "
                f"and were skipped: {shown}",
                "error",
            )
        if declared is not None and len(valid) < declared:
            parent._note(
                "subkey_list_incomplete",
                "",
                f"key declares {declared} subkeys, {len(valid)} readable (parsers tried: {tried_names})",
                "error",
            )
            # say why at hive level too: only hive-level notes reach stderr and `info`, and a
            # key that is not a record (Services itself) shows its own notes nowhere
            why = f" ({'; '.join(problems[:3])}{'; ...' if len(problems) > 3 else ''})" if problems else ""
            self._hive_note(
                "subkey_list_incomplete",
                f"{parent.path or '(root)'}: {declared} subkeys declared, {len(valid)} readable{why}",
                "error",
            )
        if name != parent.parser:
            parent._note(
                "subkeys_from_fallback_parser", "", f"subkeys listed by {name} after {parent.parser} fell short", "info"
            )
        keys = [self._make_key(child, backend, parent.path, parent.ancestors) for child in valid]
        self._listed.update(k.cell_offset for k in keys if k.cell_offset is not None)
        seen: dict[str, Key] = {}
        for key in keys:
            upper = upcase(key.name)
            if upper in seen:
                parent._note(
                    "duplicate_ci_name",
                    key.name,
                    f"two subkeys named {key.name!r} (ci); lookups use the first",
                    "error",
                )
            else:
                seen[upper] = key
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
            out = self._fallback_values(key, out)
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

    def _fallback_values(self, key: Key, have: list[RawValue]) -> list[RawValue]:
        names = {upcase(v.name) for v in have}
        for name in [key.parser] + [b for b in self._order if b != key.parser]:
            backend = self._backend(name)
            if backend is None:
                continue
            try:
                if name == key.parser and key._handle is not None:
                    handle = key._handle
                else:
                    found = self._find(backend, key.path)
                    if found is None:
                        continue
                    handle = found.handle
                extra = [v for v in backend.values(handle) if upcase(v.name) not in names]
            except BackendError as exc:
                key._note("values_fallback_failed", "", f"{name}: {exc}", "info")
                continue
            if extra:
                key._note(
                    "values_from_fallback_parser",
                    "",
                    f"{len(extra)} value(s) read by {name}: " + ", ".join(repr(v.name) for v in extra[:10]),
                )
                return have + extra
        return have


class _CellsOnly(Backend):
    """Stands in as the "backend" of keys hivescan listed from the cells itself; it has no
    handles, so their subkeys are asked of the libraries by path, then of the cells."""

    name = "cells"

    def root(self) -> Child:
        raise BackendError("no root through the cells-only lister")

    def children(self, handle: Any) -> list[Child]:
        raise BackendError("cells-only keys are listed by the tree itself")

    def values(self, handle: Any) -> list[RawValue]:
        raise BackendError("values of cells-only keys come from the cell reader")


def open_reader(path: str | os.PathLike[str], **options: Any) -> HiveReader:
    """Open a hive file for reading (convenience for tests and tools)."""
    return HiveReader(HiveSource.from_file(path), **options)
