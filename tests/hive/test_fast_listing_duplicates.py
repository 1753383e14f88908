"""Subkeys named alike (ci) are listed by the fast path, with the careful path's notes.

``HiveReader._list_subkeys_fast`` used to give up on a listing with two names alike and
hand the key to ``hivescan.hive.fallback.list_subkeys_checked``, which listed it again (every key cell parsed
twice): the Services key of most benchmark hosts holds such a pair. The fast path now keeps
such a listing and notes ``duplicate_ci_name`` on the parent itself; these tests compare
its answer with the careful path's, key by key and note by note.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hivescan.hive.fallback import list_subkeys_checked
from hivescan.hive.tree import HiveReader, Key, open_reader
from hivescan.testing.regf import WKey
from tests.conftest import system_root

SERVICES = "ControlSet001\\Services"


def crafted(write_hive: Callable[..., Path], names: list[str]) -> Path:
    root = system_root()
    services = root.key(SERVICES)
    for name in names:
        k = WKey(name)
        k.set_dword("Type", 16).set_dword("Start", 3)
        k.key("Parameters").set_dword("X", 1)
        services.subkeys.append(k)
    return write_hive(root)


def listing(reader: HiveReader, parent: Key, keys: list[Key]) -> dict[str, Any]:
    return {
        "keys": [(k.name, k.path, k.cell_offset, k.parser, k.last_write, k.ancestors, k.diagnostics) for k in keys],
        "parent_notes": list(parent.diagnostics),
        "hive_notes": list(reader.diagnostics),
        "listed": set(reader._listed),
        "invalid": reader.invalid_subkey_entries,
        "grandchildren": [[(g.name, g.cell_offset) for g in k.subkeys()] for k in keys],
    }


def both_ways(path: Path) -> tuple[dict[str, Any], dict[str, Any], list[Key] | None]:
    with open_reader(path) as fast_reader, open_reader(path) as slow_reader:
        parent = fast_reader.key(SERVICES)
        assert parent is not None
        fast = fast_reader._list_subkeys_fast(parent)
        fast_view = listing(fast_reader, parent, fast or [])
        other = slow_reader.key(SERVICES)
        assert other is not None
        slow_view = listing(slow_reader, other, list_subkeys_checked(slow_reader, other))
    return fast_view, slow_view, fast


def test_names_alike_are_listed_once_with_the_careful_paths_notes(write_hive: Callable[..., Path]) -> None:
    path = crafted(write_hive, ["Alpha", "Dup", "DUP", "Beta", "dup", "Ünï", "üNÏ"])
    fast_view, slow_view, fast = both_ways(path)
    assert fast is not None  # the fast path kept the listing (it gave up before)
    assert fast_view == slow_view
    codes = [d.code for d in fast_view["parent_notes"]]
    assert codes == ["duplicate_ci_name"] * 3
    assert [d.field for d in fast_view["parent_notes"]] == ["DUP", "dup", "üNÏ"]


def test_distinct_names_agree_too(write_hive: Callable[..., Path]) -> None:
    fast_view, slow_view, fast = both_ways(crafted(write_hive, ["A", "B", "Ä"]))
    assert fast is not None
    assert fast_view == slow_view
    assert fast_view["parent_notes"] == []


def test_the_rebuild_keeps_every_record_and_the_note(write_hive: Callable[..., Path]) -> None:
    import hivescan

    path = crafted(write_hive, ["Dup", "Other", "DUP"])
    with hivescan.open_hive(path) as hive:
        recs = hive.services()
    assert sorted(r.name for r in recs) == ["DUP", "Dup", "Other"]
    flagged = [r.name for r in recs if "duplicate_ci_name" in r.diagnostic_codes]
    assert flagged == ["DUP"]
