"""The shape of a SYSTEM hive: what a built hive must resemble to stand in for a real one.

Why: the triage benchmark and the batch tests run on hives the project builds
(:mod:`hivescan.testing.win10`); a reader's cost depends on the hive's shape (the kind of
subkey list each key has, how many keys and values a service has, how large the values
are), so the built hives are only worth measuring on if their shape is that of a real
one. :func:`hive_shape` measures one primary file (no log replay) with the project's cell
reader, and :func:`shape_lines` prints two shapes side by side (a corpus host beside the
real Windows 10 hive), so each benchmark run says how realistic its corpus is.

Every count is of what the file holds: a key or list the reader cannot read is counted in
``unreadable`` rather than left out.
"""

from __future__ import annotations

import hashlib
import statistics
import struct
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivescan.hive.cells import BASE_BLOCK_SIZE, CellError, Cells

# subkey counts grouped as the list-kind rule needs them (Windows switches to ``ri`` only
# for very large lists)
SIZE_BUCKETS: tuple[tuple[int, str], ...] = ((1, "1"), (9, "2-9"), (99, "10-99"), (499, "100-499"),
                                             (1023, "500-1023"), (1 << 32, "1024+"))  # fmt: skip
# value data sizes in bytes: inline (<= 4, in the vk itself), then cells of growing size,
# then big data (``db``, above one 16,344-byte segment)
VALUE_BUCKETS: tuple[tuple[int, str], ...] = ((4, "<=4"), (64, "5-64"), (256, "65-256"), (1024, "257-1K"),
                                              (16344, "1K-16K"), (1 << 32, ">16K"))  # fmt: skip
_ROOT_OFFSET = struct.Struct("<I")  # base block offset 0x24: the root key's cell offset


def bucket(n: int, buckets: tuple[tuple[int, str], ...]) -> str:
    """The label of the first bucket whose upper bound is at least ``n``."""
    return next(label for bound, label in buckets if n <= bound)


@dataclass
class HiveShape:
    """Counts over one hive; ``services_*`` cover ``<current control set>\\Services``."""

    keys: int = 0
    values: int = 0
    unreadable: int = 0
    list_kinds: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, size bucket) -> lists
    ri_leaves: list[int] = field(default_factory=list)  # entries per leaf under every ri
    value_sizes: Counter[str] = field(default_factory=Counter)  # whole hive, by VALUE_BUCKETS
    services: int = 0
    service_keys: list[int] = field(default_factory=list)  # keys per service (itself + its subtree)
    service_values: list[int] = field(default_factory=list)  # values per service (its whole subtree)
    service_value_sizes: Counter[str] = field(default_factory=Counter)
    services_list_kind: str = ""
    # per service (lower-case name): a digest of everything its subtree holds (names, value
    # types and bytes, subkey names; not times), to count how much hosts differ
    service_digests: dict[str, str] = field(default_factory=dict)


def _current_set(cells: Cells, root: int) -> str | None:
    """``ControlSet00N`` named by ``Select\\Current``, when readable."""
    for name, offset in _children(cells, cells.nk(root)):
        if name.lower() == "select":
            values, _ = cells.values(cells.nk(offset))
            for value in values:
                if value.name.lower() == "current" and len(value.data) == 4:
                    return f"ControlSet{int.from_bytes(value.data, 'little'):03d}"
    return None


def _children(cells: Cells, nk: object) -> list[tuple[str, int]]:
    offsets, _ = cells.subkey_list(nk.subkey_list) if nk.subkey_count else ([], [])  # type: ignore[attr-defined]
    out = []
    for offset in offsets:
        try:
            out.append((cells.nk(offset).name, offset))
        except CellError:
            continue
    return out


def hive_shape(path: Path | str) -> HiveShape:
    """Measure the primary file at ``path`` (its logs are not replayed)."""
    data = Path(path).read_bytes()
    cells = Cells(data)
    (root,) = _ROOT_OFFSET.unpack_from(data, 36)
    shape = HiveShape()
    current = _current_set(cells, root)
    services_path = f"{current}\\Services".lower() if current else None
    # (cell offset, path below the root or None where it no longer matters, index of the
    # service the key belongs to or -1)
    todo: list[tuple[int, str | None, int]] = [(root, "", -1)]
    digests: list[tuple[str, Any]] = []  # (service name, hash of its subtree so far)
    while todo:
        offset, where, service = todo.pop()
        try:
            nk = cells.nk(offset)
            values, problems = cells.values(nk)
        except CellError:
            shape.unreadable += 1
            continue
        shape.keys += 1
        shape.values += len(values)
        shape.unreadable += len(problems)
        sizes = [bucket(len(v.data), VALUE_BUCKETS) for v in values]
        shape.value_sizes.update(sizes)
        if service >= 0:
            digest = digests[service][1]
            digest.update(nk.name.lower().encode("utf-8", "surrogatepass") + b"\0")
            for v in sorted(values, key=lambda v: v.name.lower()):
                digest.update(
                    v.name.encode("utf-8", "surrogatepass") + struct.pack("<II", v.type, len(v.data)) + v.data
                )
            shape.service_keys[service] += 1
            shape.service_values[service] += len(values)
            shape.service_value_sizes.update(sizes)
        if not nk.subkey_count:
            continue
        try:
            start = BASE_BLOCK_SIZE + nk.subkey_list + 4
            kind = data[start : start + 2].decode("latin-1")
            offsets, problems = cells.subkey_list(nk.subkey_list)
        except CellError:
            shape.unreadable += 1
            continue
        shape.unreadable += len(problems)
        shape.list_kinds[(kind, bucket(nk.subkey_count, SIZE_BUCKETS))] += 1
        if kind == "ri":
            (count,) = struct.unpack_from("<H", data, start + 2)
            for (leaf,) in struct.iter_unpack("<I", data[start + 4 : start + 4 + 4 * count]):
                shape.ri_leaves.append(struct.unpack_from("<H", data, BASE_BLOCK_SIZE + leaf + 6)[0])
        if service >= 0 or where is None:
            todo += [(child, None, service) for child in offsets]
        elif services_path is not None and where.lower() == services_path:
            shape.services_list_kind = kind
            for child in offsets:
                shape.service_keys.append(0)
                shape.service_values.append(0)
                try:
                    name = cells.nk(child).name
                except CellError:
                    name = f"(unreadable key 0x{child:x})"
                digests.append((name.lower(), hashlib.blake2b(digest_size=12)))
                todo.append((child, None, shape.services))
                shape.services += 1
        elif where.count("\\") < 1:  # the root and its children: named, to find <set>\Services
            todo += [(child, f"{where}\\{name}" if where else name, -1) for name, child in _children(cells, nk)]
        else:
            todo += [(child, None, -1) for child in offsets]
    shape.service_digests = {name: digest.hexdigest() for name, digest in digests}
    return shape


def differing(a: HiveShape, b: HiveShape) -> float:
    """Share of the services of ``a`` that ``b`` lacks or holds with other content.

    The walk visits a service's subkeys in list order, so two hosts' digests of one service
    agree exactly when the same keys and values are stored in the same order."""
    return sum(b.service_digests.get(name) != digest for name, digest in a.service_digests.items()) / max(
        len(a.service_digests), 1
    )


def _spread(numbers: list[int]) -> str:
    if not numbers:
        return "-"
    q = statistics.quantiles(numbers, n=10, method="inclusive") if len(numbers) > 1 else [numbers[0]] * 9
    return f"median {statistics.median(numbers):g}, p10-p90 {q[0]:g}-{q[8]:g}, max {max(numbers)}"


def _shares(counts: Counter[str], labels: Iterable[str]) -> str:
    total = sum(counts.values()) or 1
    return " ".join(f"{label}:{100 * counts[label] / total:.0f}%" for label in labels)


def _kinds(shape: HiveShape) -> str:
    by_kind: dict[str, list[str]] = {}
    for (kind, size), n in sorted(shape.list_kinds.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
        by_kind.setdefault(kind, []).append(f"{size}:{n}")
    return "; ".join(f"{kind} [{' '.join(parts)}]" for kind, parts in by_kind.items())


def _order(label: str) -> int:
    return [b for _, b in SIZE_BUCKETS].index(label)


def shape_lines(shapes: dict[str, HiveShape]) -> list[str]:
    """One line per measure, the named shapes side by side (e.g. corpus host, real hive)."""
    value_labels = [label for _, label in VALUE_BUCKETS]
    lines = []
    for name, s in shapes.items():
        lines += [
            f"{name}: {s.keys} keys, {s.values} values, {s.unreadable} unreadable; {s.services} services "
            f"(their list: {s.services_list_kind or '-'})",
            f"  {name}: subkey lists by kind [entries:lists]: {_kinds(s)}; ri leaves {_spread(s.ri_leaves)}",
            f"  {name}: keys per service {_spread(s.service_keys)}; values per service {_spread(s.service_values)}",
            f"  {name}: value sizes, services: {_shares(s.service_value_sizes, value_labels)}; "
            f"whole hive: {_shares(s.value_sizes, value_labels)}",
        ]
    return lines


__all__ = ["HiveShape", "bucket", "differing", "hive_shape", "shape_lines"]
