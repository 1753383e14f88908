"""The careful path of the key tree: what the reader does when its fast path declines.

A key whose own parser does not list every declared subkey as a real key cell is listed
again through every parser library (looked up by path, each listing guarded against unsound
subkey lists), then entry by entry from the cells; the best checked answer is kept, with
diagnostics saying why. Values a cell cannot give are asked of the libraries the same way.
None of this runs per key on a sound hive, so these are plain functions of the reader
(:class:`hivescan.hive.tree.HiveReader`), not methods on its hot path.

References: scm-spec.md §9.1, §9.3; docs/design.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hivescan.hive.backends.base import Backend, BackendError, Child
from hivescan.hive.cells import CellError, Cells, NkCell
from hivescan.hive.key import Key
from hivescan.hive.model import RawValue
from hivescan.hive.names import upcase

if TYPE_CHECKING:
    from hivescan.hive.tree import HiveReader


def guard_listing(reader: HiveReader, backend: Backend, handle: Any) -> None:
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
            nk = reader.cells.nk(nk_offset)
        except CellError as exc:
            raise BackendError(f"{backend.name}: key record unreadable ({exc})") from exc
        list_offset: int | None = nk.subkey_list if nk.subkey_count else None
    else:
        try:
            list_offset = backend.subkey_list_offset(handle)
        except (AttributeError, TypeError, ValueError) as exc:
            raise BackendError(f"{backend.name}: no subkey-list offset to check ({exc})") from exc
    if list_offset is not None:
        fault = reader._list_fault(list_offset)
        if fault is not None:
            raise BackendError(f"subkey list not handed to {backend.name}: {fault}")


def library_key(reader: HiveReader, backend: Backend, path: str) -> Child | None:
    """The key at ``path`` as ``backend`` lists it (names case-insensitive, the first of alike).

    Each library listing on the way is made once per hive and kept: on a damaged hive
    hundreds of keys fall back to the libraries, and looking each up from the root again
    listed the big Services key hundreds of times (minutes, and memory the paused
    collector could not free). Every listing is guarded (see :func:`guard_listing`).
    """
    node = backend.root()
    done: tuple[str, ...] = ()
    for part in (p for p in path.split("\\") if p):
        listing = reader._library_listings.get((backend.name, done))
        if listing is None:
            guard_listing(reader, backend, node.handle)
            listing = {}
            for child in backend.children(node.handle):
                listing.setdefault(upcase(child.name), child)
            reader._library_listings[(backend.name, done)] = listing
        found = listing.get(upcase(part))
        if found is None:
            return None
        node, done = found, (*done, upcase(part))
    return node


def check_nk(cells: Cells, offset: int | None) -> tuple[NkCell | None, str | None]:
    if offset is None:
        return None, None
    try:
        return cells.nk(offset), None
    except CellError as exc:
        return None, str(exc)


def pair_offsets(reader: HiveReader, parent: Key, listed: list[Child]) -> list[Child]:
    """Give offsets to children of a library that hides them (regipy): it walks the same
    subkey list in the same order, so entry i is the cell the list names at position i."""
    if parent._nk is None or all(c.cell_offset is not None for c in listed):
        return listed
    try:
        offsets = reader.cells.subkey_offsets(parent._nk.subkey_list)
    except CellError:
        return listed
    if len(offsets) != len(listed):
        return listed
    return [Child(c.name, off, c.last_write, c.handle) for c, off in zip(listed, offsets, strict=True)]


def valid_children(reader: HiveReader, parent: Key, listed: list[Child]) -> tuple[list[Child], list[str], bool]:
    """Children that are real key cells, the problems found, and whether they were verifiable."""
    valid: list[Child] = []
    problems: list[str] = []
    verified = True
    taken: set[int] = set()
    listed = pair_offsets(reader, parent, listed)
    for index, child in enumerate(listed):
        if child.cell_offset is None:
            verified = False  # the library hides offsets: nothing to check against
            valid.append(child)
            continue
        nk, why = check_nk(reader.cells, child.cell_offset)
        if nk is None:
            problems.append(f"entry {index} (offset 0x{child.cell_offset:x}): {why}")
            continue
        if child.cell_offset in parent.ancestors:
            problems.append(f"entry {index} (offset 0x{child.cell_offset:x}) points back at an ancestor (cycle)")
            continue
        if child.cell_offset in reader._listed or child.cell_offset in taken:
            problems.append(f"entry {index} (offset 0x{child.cell_offset:x}) names a key already listed elsewhere")
            continue
        taken.add(child.cell_offset)
        valid.append(child)
    return valid, problems, verified


def cells_children(reader: HiveReader, parent: Key) -> tuple[str, list[Child], list[str], bool, Backend] | None:
    """Last resort: list the subkeys entry by entry from the cells. The libraries give up
    on a whole list when one entry is unreadable (e.g. cut off by truncation); this keeps
    every sibling that can still be read."""
    assert parent._nk is not None
    try:
        offsets, list_problems = reader.cells.subkey_list(parent._nk.subkey_list)
    except CellError:
        return None
    children = [Child("", off, None, None) for off in offsets]
    valid, problems, _ = valid_children(reader, parent, children)
    problems = list_problems + problems
    named = []
    for child in valid:
        offset = child.cell_offset
        assert offset is not None  # every entry here came with its offset
        nk = reader.cells.nk(offset)  # checked by valid_children
        named.append(Child(nk.name, offset, nk.last_write, None))
    return ("cells", named, problems, True, reader._cells_backend)


def _parsers_for(reader: HiveReader, key: Key) -> list[str]:
    """The parsers to ask about ``key``: the one that listed it first, then the others in order."""
    return [key.parser] + [b for b in reader._order if b != key.parser]


def _handle_in(reader: HiveReader, name: str, backend: Backend, key: Key) -> Any:
    """``key``'s handle in parser ``name``: its own when that parser listed it, else found by
    path (None: that parser does not find the key). A parser's failure raises BackendError."""
    if name == key.parser and key._handle is not None:
        return key._handle
    found = library_key(reader, backend, key.path)
    return None if found is None else found.handle


def list_subkeys_checked(reader: HiveReader, parent: Key) -> list[Key]:
    declared = parent.declared_subkey_count
    Attempt = tuple[str, list[Child], list[str], bool, Backend]
    attempts: list[Attempt] = []
    errors: list[str] = []
    nk = parent._nk
    fault = reader._list_fault(nk.subkey_list) if nk is not None and nk.subkey_count else None
    if fault is not None:
        parent._note(
            "subkey_list_unsound",
            "",
            f"{fault}; the list was read entry by entry by hivescan, not by the parser libraries",
            "error",
        )
        reader._hive_note("subkey_list_unsound", f"{parent.path or '(root)'}: {fault}", "error")
    for name in _parsers_for(reader, parent):
        backend = reader._backend(name)
        if backend is None or fault is not None:
            continue
        try:
            handle = _handle_in(reader, name, backend, parent)
            if handle is None:
                errors.append(f"{name} does not find this key")
                continue
            guard_listing(reader, backend, handle)
            listed = backend.children(handle)
        except BackendError as exc:
            errors.append(f"{name}: {exc}")
            continue
        valid, problems, verified = valid_children(reader, parent, listed)
        attempts.append((name, valid, problems, verified, backend))
        if verified and (declared is None or len(valid) >= declared):
            break  # complete and checked: no need to ask another parser
    best_verified = max((len(a[1]) for a in attempts if a[3]), default=-1)
    if parent._nk is not None and (declared is None or best_verified < declared):
        own = cells_children(reader, parent)
        if own is not None and len(own[1]) > best_verified:
            attempts.append(own)
        elif own is None and fault is not None:  # the list cell itself is unreadable: nothing listed
            attempts.append(("cells", [], [], True, reader._cells_backend))
    # a parser whose answer cannot be checked never overrules one whose answer was checked
    verified_attempts = [a for a in attempts if a[3]]
    pool = verified_attempts or attempts
    if not pool:
        parent._note("subkeys_unreadable", "", "no parser could list the subkeys: " + "; ".join(errors), "error")
        reader._hive_note("subkeys_unreadable", f"{parent.path or '(root)'}: subkeys could not be listed", "error")
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
        reader.invalid_subkey_entries += len(problems)
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
        reader._hive_note(
            "subkey_list_incomplete",
            f"{parent.path or '(root)'}: {declared} subkeys declared, {len(valid)} readable{why}",
            "error",
        )
    if name != parent.parser:
        parent._note(
            "subkeys_from_fallback_parser", "", f"subkeys listed by {name} after {parent.parser} fell short", "info"
        )
    keys = [reader._make_key(child, backend, parent.path, parent.ancestors) for child in valid]
    reader._listed.update(k.cell_offset for k in keys if k.cell_offset is not None)
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


def fallback_values(reader: HiveReader, key: Key, have: list[RawValue]) -> list[RawValue]:
    """``have`` plus the values a parser library reads that the cells could not give (by name,
    ci), from the first library that adds any: a value is never lost because its cell is damaged."""
    names = {upcase(v.name) for v in have}
    for name in _parsers_for(reader, key):
        backend = reader._backend(name)
        if backend is None:
            continue
        try:
            handle = _handle_in(reader, name, backend, key)
            if handle is None:
                continue
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


class CellsOnly(Backend):
    """Stands in as the "backend" of keys hivescan listed from the cells itself; it has no
    handles, so their subkeys are asked of the libraries by path, then of the cells."""

    name = "cells"

    def root(self) -> Child:
        raise BackendError("no root through the cells-only lister")

    def children(self, handle: Any) -> list[Child]:
        raise BackendError("cells-only keys are listed by the tree itself")

    def values(self, handle: Any) -> list[RawValue]:
        raise BackendError("values of cells-only keys come from the cell reader")
