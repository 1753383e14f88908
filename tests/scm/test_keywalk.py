"""The compiled walk of a service key (hivescan.scm.keywalk, _keywalk.c) and the memo it keys.

A record answered from the walk's bytes must be the record the Python path builds (every
field, diagnostics included), and the reader must end as the Python path leaves it: the
same key cells given out (``HiveReader._listed``), and a later ``subkeys()`` anywhere under
Services giving the same Keys and notes. Held to that on the shared hives, the project's
fixtures, built hives of every subkey-list kind, and hypothesis-damaged service keys; every
change to what a record is built from changes the walk's bytes.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.hive.cells import Cells
from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.model import RawValue
from hivescan.hive.tree import HiveReader, Key
from hivescan.scm import keywalk
from hivescan.scm.record import ServiceRecord
from hivescan.scm.services import RecordMemo, _special_subkeys, build_service_database
from hivescan.testing.fuzz import service_key_cells
from hivescan.testing.regf import HiveWriter, WKey, WValue
from tests.conftest import FIXTURES, shared_hive, system_root

Writer = Callable[..., Path]

needs_c = pytest.mark.skipif(keywalk.IMPLEMENTATION != "c", reason="the _keywalk extension is not built")


class Read:
    """What one pass over a hive's service databases gave and left in the reader."""

    def __init__(self, path: Path, memo: RecordMemo | None, logs: str, **options: Any) -> None:
        self.records: list[ServiceRecord] = []
        with hivescan.open_hive(path, logs=logs, **options) as hive:  # type: ignore[arg-type]
            reader = hive.reader
            services_keys: list[Key] = []
            for number in hive.existing.numbers:
                key = hive.control_set_key(number)
                services = key.subkey("Services") if key is not None else None
                if services is not None:
                    services_keys.append(services)
                    self.records += build_service_database(services, hive=hive.hive_ref, control_set=number, memo=memo)
            self.listed = set(reader._listed)
            self.hive_notes = list(reader.diagnostics)
            # a later consumer lists everything under Services again (show, scan, ...)
            self.tree = [row for services in services_keys for row in _rows(services)]
            self.listed_after = set(reader._listed)
            self.hive_notes_after = list(reader.diagnostics)
            self.claims_left = dict(reader._claimed)


def _rows(top: Key) -> Iterator[tuple[Any, ...]]:
    for key in top.walk():
        values = key.values()
        yield (key.path, key.cell_offset, key.last_write, key.parser, tuple(values), tuple(key.diagnostics))


def assert_same(got: Read, want: Read) -> None:
    assert [r.name for r in got.records] == [r.name for r in want.records]
    for a, b in zip(got.records, want.records, strict=True):
        assert a == b, a.name
        assert a.to_dict() == b.to_dict(), a.name
    assert got.listed == want.listed
    assert got.hive_notes == want.hive_notes
    assert got.tree == want.tree
    assert got.listed_after == want.listed_after
    assert got.hive_notes_after == want.hive_notes_after
    assert not got.claims_left  # every claimed listing was handed back by the later walk


def walked_hits(memo: RecordMemo) -> int:
    """Entries stored under a walk's bytes (the others are the Python path's content tuples)."""
    return sum(1 for key in memo._entries if key[0] == "walk")


def fast_equals_reference(path: Path, logs: str = "none") -> RecordMemo:
    want = Read(path, None, logs)
    memo = RecordMemo()
    assert_same(Read(path, memo, logs), want)  # misses, and hits of keys equal within the hive
    hits = memo.hits
    assert_same(Read(path, memo, logs), want)  # every key walked now hits
    assert memo.hits > hits
    return memo


SHARED = [
    ("nt4-SYSTEM", "none"),
    ("xp-corrupted-SYSTEM", "none"),
    ("win7-SYSTEM", "none"),
    ("win10-dirty-SYSTEM", "none"),
    ("win10-dirty-SYSTEM", "auto"),
]


@needs_c
@pytest.mark.parametrize(("name", "logs"), SHARED)
def test_walked_records_equal_the_python_path_on_shared_hives(name: str, logs: str) -> None:
    memo = fast_equals_reference(shared_hive(name), logs)
    if name != "xp-corrupted-SYSTEM":
        assert walked_hits(memo) > 0.9 * len(memo)  # the walk is the common path there


FIXTURE_HIVES = sorted(p for p in FIXTURES.glob("*SYSTEM") if p.is_file())


@needs_c
@pytest.mark.parametrize("path", FIXTURE_HIVES, ids=[p.name for p in FIXTURE_HIVES])
def test_walked_records_equal_the_python_path_on_fixtures(path: Path) -> None:
    fast_equals_reference(path, "auto" if path.with_name(path.name + ".LOG1").exists() else "none")


def service(root: WKey, name: str, triggers: int = 2) -> WKey:
    key = root.key(f"ControlSet001\\Services\\{name}")
    key.set_dword("Type", 0x20).set_dword("Start", 2).set_dword("ErrorControl", 1)
    key.set_expand_sz("ImagePath", "%SystemRoot%\\system32\\svchost.exe -k netsvcs")
    key.set_sz("DisplayName", f"@%SystemRoot%\\system32\\{name}.dll,-100")
    key.set_multi_sz("DependOnService", ["RpcSs"])
    key.set("Empty", 1, b"")
    key.set_binary("Long", bytes(range(256)) * 8)
    key.key("Parameters").set_expand_sz("ServiceDll", f"%SystemRoot%\\system32\\{name}.dll")
    key.key("Security").set_binary("Security", bytes.fromhex("01001480140000002000000000000000" + "00" * 16))
    key.key("Enum").set_dword("Count", 0)
    for n in range(triggers):
        trigger = key.key(f"TriggerInfo\\{n}")
        trigger.set_dword("Type", 1).set_dword("Action", 1)
        trigger.set_binary("GUID", bytes(range(16)))
    return key


def host(services: int = 6) -> WKey:
    root = system_root()
    for n in range(services):
        service(root, f"Svc{n:02d}", triggers=n % 3)
    root.key("ControlSet001\\Services\\Bare")
    return root


@needs_c
@pytest.mark.parametrize("kind", ["lf", "lh", "li", "ri"])
def test_walked_records_equal_the_python_path_on_every_subkey_list_kind(write_hive: Writer, kind: str) -> None:
    root = host(12)
    for name in ("Svc00", "Svc01"):  # wide keys: several ri leaves
        for n in range(9):
            root.key(f"ControlSet001\\Services\\{name}\\Sub{n}").set_dword("N", n)
    path = write_hive(root, subkey_list=kind, ri_leaf_size=4)
    memo = fast_equals_reference(path)
    assert walked_hits(memo) == len(memo)  # nothing here is unusual: every key is walked


def test_without_the_extension_the_python_path_gives_the_same(
    write_hive: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_hive(host())
    want = Read(path, None, "none")
    monkeypatch.setattr(keywalk, "_walk_c", None)
    memo = RecordMemo()
    assert_same(Read(path, memo, "none"), want)
    assert_same(Read(path, memo, "none"), want)
    assert memo.hits and walked_hits(memo) == 0


# -- the walk's bytes: what changes them


def walked(path: Path, name: str) -> keywalk.Walked | None:
    with hivescan.open_hive(path, logs="none") as hive:
        services = hive.control_set_key(1).subkey("Services")  # type: ignore[union-attr]
        key = services.subkey(name)  # type: ignore[union-attr]
        assert key is not None
        return keywalk.walk_service_key(key)


def set_time(key: WKey, when: int) -> None:
    key.last_write = when


EDITS: dict[str, Callable[[WKey], object]] = {
    "one byte of value data": lambda k: k.set_binary("Long", bytes(range(256)) * 7 + bytes(255) + b"\x01"),
    "one byte of an inline dword": lambda k: k.set_dword("Start", 3),
    "value type": lambda k: k.set("Empty", 3, b""),
    "value name case": lambda k: k.set_sz("displayname", "@%SystemRoot%\\system32\\Svc01.dll,-100"),
    "subkey name": lambda k: setattr(k.key("Enum"), "name", "Enun"),
    "parameters value": lambda k: k.key("Parameters").set_expand_sz("ServiceDll", "C:\\evil.dll"),
    "security value": lambda k: k.key("Security").set_binary("Security", b"\x01\x00\x04\x80"),
    "trigger value": lambda k: k.key("TriggerInfo\\0").set_dword("Action", 2),
    "trigger name": lambda k: setattr(k.key("TriggerInfo\\0"), "name", "7"),
}


@needs_c
@pytest.mark.parametrize("what", sorted(EDITS))
def test_a_changed_input_changes_the_walked_bytes_and_misses(write_hive: Writer, what: str) -> None:
    before = walked(write_hive(host()), "Svc01")
    root = host()
    EDITS[what](root.key("ControlSet001\\Services\\Svc01"))
    path = write_hive(root)
    after = walked(path, "Svc01")
    assert before is not None and after is not None
    assert after.content != before.content
    memo = RecordMemo()
    Read(write_hive(host()), memo, "none")
    hits, misses = memo.hits, memo.misses
    assert_same(Read(path, memo, "none"), Read(path, None, "none"))
    assert memo.misses - misses == 1  # Svc01 alone
    assert memo.hits - hits == len(Read(path, None, "none").records) - 1


@needs_c
def test_times_and_places_are_not_content(write_hive: Writer) -> None:
    """Key times, the key's own place and provenance are per record, never in the bytes."""
    root = host()
    root.key("ControlSet001\\Services\\Svc01").last_write = 0x01D5000000000000
    root.key("ControlSet001\\Services\\Svc01\\Parameters").last_write = 0x01D6000000000000
    root.key("ControlSet001\\Services\\Svc01\\Enum").last_write = 0x01D6000000000000
    before, after = walked(write_hive(host()), "Svc01"), walked(write_hive(root), "Svc01")
    assert before is not None and after is not None
    assert before.content == after.content and before.times != after.times


def many_triggers(root: WKey, name: str, count: int) -> WKey:
    """A service whose TriggerInfo lists ``10`` before ``2`` (the registry's order is not the
    decoded one), each trigger with a time of its own."""
    key = service(root, name, triggers=0)
    for n in range(count):
        trigger = key.key(f"TriggerInfo\\{n}")
        trigger.set_dword("Type", 1 + n % 7).set_dword("Action", 1 + n % 2)
        trigger.set_binary("GUID", bytes([n]) * 16)
        trigger.last_write = 0x01D4000000000000 + n
    return key


@needs_c
def test_trigger_times_are_not_content_and_a_hit_takes_this_keys_times(write_hive: Writer) -> None:
    """Trigger subkeys' times differ between hosts with the same triggers: the walk's bytes
    leave them out, and a record answered from another host's entry carries its own times, in
    ``triggers`` (decoded, in number order) as in ``triggers_raw`` and ``subkey_last_writes``."""
    first, second = host(), host()
    many_triggers(first, "Trig", 12)
    later = many_triggers(second, "Trig", 12)
    for n in range(12):
        set_time(later.key(f"TriggerInfo\\{n}"), 0x01D9000000000000 + 1000 * n)
    path_a, path_b = write_hive(first), write_hive(second)
    before, after = walked(path_a, "Trig"), walked(path_b, "Trig")
    assert before is not None and after is not None
    assert before.content == after.content and before.times != after.times
    memo = RecordMemo()
    Read(path_a, memo, "none")
    misses = memo.misses
    got, want = Read(path_b, memo, "none"), Read(path_b, None, "none")
    assert memo.misses == misses  # every key of the second host, Trig too, answered from the first's
    assert_same(got, want)
    record = next(r for r in got.records if r.name == "Trig")
    assert [t.number for t in record.triggers] == list(range(12))
    assert [t.last_write_filetime for t in record.triggers] == [0x01D9000000000000 + 1000 * n for n in range(12)]


# -- every reason to decline: the Python path's answer (with its notes), never the walk's


class Place:
    """Where the cells of one service key of a built hive are (found with the cell reader)."""

    def __init__(self, data: bytes, name: str) -> None:
        self.cells = Cells(data)
        source = hivescan.hive.source.HiveSource.from_bytes(data)
        with HiveReader(source) as reader:
            key = reader.key(f"ControlSet001\\Services\\{name}")
            assert key is not None and key._nk is not None
            self.nk = key._nk
            self.subkeys = {k.name: k._nk for k in key.subkeys()}
        self.values = dict(zip([v.name for v in self.cells.values(self.nk)[0]], self.cells.value_offsets(self.nk)))

    @staticmethod
    def at(offset: int) -> int:
        """File position of a cell's payload."""
        return BASE_BLOCK_SIZE + offset + 4


def _patch(image: bytearray, place: Place, what: str) -> None:
    nk, at = place.nk, place.at
    sub = place.subkeys
    if what == "layered service key":
        image[at(nk.offset) + 13] = 1
    elif what == "layered Parameters":
        image[at(sub["Parameters"].offset) + 13] = 2
    elif what == "layered other subkey":
        image[at(sub["Enum"].offset) + 13] = 3
    elif what == "tombstone value":
        struct.pack_into("<H", image, at(place.values["Start"]) + 16, 0x3)
    elif what == "value cell too small":
        struct.pack_into("<i", image, at(place.values["Start"]) - 4, -16)
    elif what == "value cell free":
        struct.pack_into("<i", image, at(place.values["Start"]) - 4, 32)
    elif what == "value data cell free":
        (data_off,) = struct.unpack_from("<I", image, at(place.values["Long"]) + 8)
        raw = struct.unpack_from("<i", image, at(data_off) - 4)[0]
        struct.pack_into("<i", image, at(data_off) - 4, -raw)
    elif what == "value data cell short":
        struct.pack_into("<I", image, at(place.values["Long"]) + 4, 1 << 14)
    elif what == "inline data oversized":
        struct.pack_into("<I", image, at(place.values["Start"]) + 4, 0x80000008)
    elif what == "value list short":
        struct.pack_into("<I", image, at(nk.offset) + 36, nk.value_count + 40)
    elif what == "more subkeys declared":
        struct.pack_into("<I", image, at(nk.offset) + 20, nk.subkey_count + 1)
    elif what == "fewer subkeys declared":
        struct.pack_into("<I", image, at(nk.offset) + 20, nk.subkey_count - 1)
    elif what == "a subkey listed twice":
        first = struct.unpack_from("<I", image, at(nk.subkey_list) + 4)[0]
        struct.pack_into("<I", image, at(nk.subkey_list) + 4 + 8, first)
    elif what == "a subkey listed under another service":
        other = Place(bytes(image), "Svc00").subkeys["Enum"].offset
        struct.pack_into("<I", image, at(nk.subkey_list) + 4, other)
    elif what == "a subkey that is the key itself":
        struct.pack_into("<I", image, at(nk.subkey_list) + 4, nk.offset)
    elif what == "a trigger subkey that is its service":
        trig = sub["TriggerInfo"]
        struct.pack_into("<I", image, at(trig.subkey_list) + 4, nk.offset)
    elif what == "a trigger subkey that is a sibling of TriggerInfo":
        trig = sub["TriggerInfo"]
        struct.pack_into("<I", image, at(trig.subkey_list) + 4, sub["Enum"].offset)
    elif what == "subkey list signature":
        image[at(nk.subkey_list) : at(nk.subkey_list) + 2] = b"xx"
    elif what == "subkey list entry not a key":
        struct.pack_into("<I", image, at(nk.subkey_list) + 4, place.values["Start"])
    elif what == "security cell not sk":
        struct.pack_into("<I", image, at(nk.offset) + 44, nk.value_list)
    elif what == "key name length past the cell":
        struct.pack_into("<H", image, at(sub["Enum"].offset) + 72, 4000)
    else:
        raise AssertionError(what)


PATCHES = [
    "layered service key",
    "layered Parameters",
    "layered other subkey",
    "tombstone value",
    "value cell too small",
    "value cell free",
    "value data cell free",
    "value data cell short",
    "inline data oversized",
    "value list short",
    "more subkeys declared",
    "fewer subkeys declared",
    "a subkey listed twice",
    "a subkey listed under another service",
    "a subkey that is the key itself",
    "a trigger subkey that is its service",
    "a trigger subkey that is a sibling of TriggerInfo",
    "subkey list signature",
    "subkey list entry not a key",
    "security cell not sk",
    "key name length past the cell",
]


@needs_c
@pytest.mark.parametrize("kind", ["lh", "li"])
@pytest.mark.parametrize("what", PATCHES)
def test_unusual_keys_are_declined_and_read_the_python_way(tmp_path: Path, what: str, kind: str) -> None:
    data = HiveWriter(host(), subkey_list=kind).build().data
    intact = tmp_path / "SYSTEM-intact"
    intact.write_bytes(data)
    image = bytearray(data)
    _patch(image, Place(data, "Svc01"), what)
    path = tmp_path / "SYSTEM-edited"
    path.write_bytes(bytes(image))
    if what != "a subkey listed under another service":  # declined by the reader's state: Svc00 listed first
        assert walked(path, "Svc01") is None
    memo = RecordMemo()
    Read(intact, memo, "none")  # every intact key known under its walk's bytes
    want = Read(path, None, "none")
    assert_same(Read(path, memo, "none"), want)
    assert_same(Read(path, memo, "none"), want)


BUILT: dict[str, Callable[[WKey], object]] = {
    "values named alike": lambda k: k.values.append(WValue("START", 4, b"\x03\0\0\0")),
    "subkeys named alike": lambda k: k.subkeys.append(WKey("PARAMETERS")),
    "trigger subkeys named alike": lambda k: (
        k.key("TriggerInfo").subkeys.append(WKey("x0")) or k.key("TriggerInfo").subkeys.append(WKey("X0"))
    ),
    "non-ASCII subkey name": lambda k: k.key("Param\u00e8tres").set_dword("N", 1),
    "UTF-16 value name": lambda k: k.set_dword("\u03a9", 1),
    "non-ASCII value name": lambda k: k.set_dword("\u00e9t\u00e9", 1),
    "big data": lambda k: k.set_binary("Huge", bytes(40000)),
}


@needs_c
@pytest.mark.parametrize("what", sorted(BUILT))
def test_unusual_built_keys_are_declined_and_read_the_python_way(write_hive: Writer, what: str) -> None:
    root = host()
    BUILT[what](root.key("ControlSet001\\Services\\Svc01"))
    path = write_hive(root)
    assert walked(path, "Svc01") is None
    memo = RecordMemo()
    Read(write_hive(host()), memo, "none")
    want = Read(path, None, "none")
    assert_same(Read(path, memo, "none"), want)
    assert_same(Read(path, memo, "none"), want)


@needs_c
@pytest.mark.parametrize("limit", [64, 2048, 2047])
def test_value_data_past_the_readers_cap_is_read_the_python_way(write_hive: Writer, limit: int) -> None:
    path = write_hive(host())
    memo = RecordMemo()
    Read(path, memo, "none", max_value_bytes=1 << 20)
    want = Read(path, None, "none", max_value_bytes=limit)
    assert_same(Read(path, memo, "none", max_value_bytes=limit), want)
    assert_same(Read(path, memo, "none", max_value_bytes=limit), want)


# -- damaged service keys: never a crash, always the Python path's answer


@pytest.fixture(scope="module")
def damaged_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[tuple[int, int]], RecordMemo]:
    root = host(3)
    data = HiveWriter(root, subkey_list="ri", ri_leaf_size=2).build().data
    path = tmp_path_factory.mktemp("keywalk") / "SYSTEM"
    path.write_bytes(data)
    memo = RecordMemo()
    Read(path, memo, "none")  # warm: the intact keys are known
    with HiveReader(hivescan.hive.source.HiveSource.from_file(path)) as reader:
        svc = reader.key("ControlSet001\\Services\\Svc02")
        assert svc is not None and svc.cell_offset is not None
        ranges = service_key_cells(data, svc.cell_offset)
    return data, ranges, memo


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_service_keys_give_the_python_paths_records(
    damaged_base: tuple[bytes, list[tuple[int, int]], RecordMemo], tmp_path: Path, data: st.DataObject
) -> None:
    base, ranges, memo = damaged_base
    image = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        start, end = data.draw(st.sampled_from(ranges))
        at = data.draw(st.integers(start, end - 1))
        image[at] = data.draw(st.integers(0, 255))
    path = tmp_path / "SYSTEM-damaged"
    path.write_bytes(bytes(image))
    try:
        want = Read(path, None, "none")
    except hivescan.errors.HivescanError:
        return  # not a hive any more (an error the CLI reports): nothing to compare
    assert_same(Read(path, memo, "none"), want)
    assert_same(Read(path, memo, "none"), want)


# -- the walk's bytes read back: the compiled reader against the Python reference


def walked_contents(path: Path) -> list[bytes]:
    """The walk's bytes of every service key the walk takes, in every control set of ``path``."""
    out = []
    with hivescan.open_hive(path, logs="none") as hive:
        for number in hive.existing.numbers:
            key = hive.control_set_key(number)
            services = key.subkey("Services") if key is not None else None
            for service_key in services.subkeys() if services is not None else ():
                found = keywalk.walk_service_key(service_key)
                if found is not None:
                    out.append(found.content)
    return out


def parsed_either(content: bytes) -> tuple[str, Any]:
    """("ok", parsed) or ("error", the ValueError's class name) from the compiled reader,
    checked against the Python reference first."""
    try:
        want: tuple[str, Any] = ("ok", keywalk.parse_walked_py(content))
    except ValueError as exc:
        want = ("error", type(exc).__name__)
    try:
        got: tuple[str, Any] = ("ok", keywalk._parse_walked_c(content))
    except ValueError as exc:
        got = ("error", type(exc).__name__)
    assert got == want
    if got[0] == "ok":  # the same types too: RawValue tuples with int types and bytes data
        for value in got[1][0]:
            assert type(value) is RawValue and type(value.type) is int and type(value.data) is bytes
        assert by_name_orders(got[1]) == by_name_orders(want[1])  # dicts equal in their order too
    return got


def by_name_orders(parsed: keywalk.Parsed) -> list[list[tuple[str, RawValue]] | None]:
    """The by-name dicts of a read-back as item lists: their order is what a decoder iterating
    them sees (values_by_name keeps the first of names alike, in list order)."""
    _, own_by_name, _, params, security, _ = parsed
    held = [None if h is None else list(h[1].items()) for h in (params, security)]
    return [list(own_by_name.items()), *held]


@needs_c
@pytest.mark.parametrize("name", ["nt4-SYSTEM", "win7-SYSTEM", "win10-dirty-SYSTEM"])
def test_the_compiled_reader_of_walked_bytes_equals_the_python_one_on_shared_hives(name: str) -> None:
    contents = walked_contents(shared_hive(name))
    assert contents
    assert all(parsed_either(c)[0] == "ok" for c in contents)


@needs_c
def test_the_walks_special_subkeys_are_the_builders_in_list_order(write_hive: Writer) -> None:
    """read_walked finds the special subkeys in its one pass over the names: the very keys, in
    the very order, ``services._special_subkeys`` gives (a record's subkey_last_writes keeps it)."""
    root = host(3)
    odd = root.key("ControlSet001\\Services\\Odd")
    odd.set_dword("Type", 0x10).set_dword("Start", 3).set_dword("ErrorControl", 1)
    for name in ("security", "Enum", "TRIGGERINFO\\0", "parameters"):
        odd.key(name).set_dword("N", 1)
    path = write_hive(root, sort_subkeys=False)  # the lists in the order written, not sorted
    with hivescan.open_hive(path, logs="none") as hive:
        services = hive.control_set_key(1).subkey("Services")
        orders = []
        for key in services.subkeys():
            found = keywalk.walk_service_key(key)
            assert found is not None
            read = keywalk.read_walked(key, found)
            want = _special_subkeys(read.subkeys)
            assert list(read.special.items()) == list(want.items())
            orders.append(list(read.special))
    assert ["SECURITY", "TRIGGERINFO", "PARAMETERS"] in orders
    assert ["PARAMETERS", "SECURITY", "TRIGGERINFO"] in orders


@needs_c
def test_the_compiled_reader_of_walked_bytes_equals_the_python_one_on_built_hives(write_hive: Writer) -> None:
    root = host(12)
    many_triggers(root, "Trig", 12)
    contents = walked_contents(write_hive(root))
    assert len(contents) == 14
    for content in contents:
        assert parsed_either(content)[0] == "ok"
        for cut in (1, 2, 3, 5, 9, len(content) // 2, len(content) - 1):  # every cut short is refused alike
            assert parsed_either(content[:cut])[0] == "error"
        assert parsed_either(content + b"\0")[0] == "error"


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.tuples(st.integers(0, 299), st.integers(0, 255)), max_size=6))
def test_the_compiled_reader_of_changed_walked_bytes_answers_as_the_python_one(
    noise: bytes, edits: list[tuple[int, int]]
) -> None:
    """Random bytes, and a real walk's bytes with a few bytes changed: the same answer or the
    same refusal (ValueError), never a crash or a read past the end."""
    parsed_either(noise)
    content = bytearray(_SAMPLE_CONTENT)
    for at, byte in edits:
        content[at % len(content)] = byte
    parsed_either(bytes(content))


def _sample_content() -> bytes:
    """The walk's bytes of one built service key with values, Parameters, Security and triggers."""
    root = system_root()
    service(root, "Sample", triggers=3)
    data = HiveWriter(root).build().data
    with HiveReader(hivescan.hive.source.HiveSource.from_bytes(data)) as reader:
        key = reader.key("ControlSet001\\Services\\Sample")
        assert key is not None
        found = keywalk.walk_service_key(key)
    return found.content if found is not None else b""


_SAMPLE_CONTENT = _sample_content() if keywalk.IMPLEMENTATION == "c" else b"\0"


def _name(raw: bytes, compressed: bool = True) -> bytes:
    return bytes([compressed]) + struct.pack("<H", len(raw)) + raw


def _values(*values: tuple[bytes, bool]) -> bytes:
    out = struct.pack("<I", len(values))
    for raw, compressed in values:
        out += _name(raw, compressed) + struct.pack("<II", 4, 4) + b"\1\0\0\0"
    return out


@needs_c
def test_the_compiled_reader_gives_values_by_name_as_values_by_name_does() -> None:
    """Names alike (ci) keep the first; ASCII names take str.upper (already upper: the name
    itself), others the registry's upper case (``upcase``: e-acute up, sharp s kept), compressed
    (Latin-1) or UTF-16; the Parameters and Security values get theirs too."""
    own = _values(
        (b"start", True),
        (b"START", True),
        (b"DisplayName", True),
        (b"Caf\xe9", True),
        ("Stra\u00dfe".encode("utf-16-le"), False),
        ("caf\u00c9".encode("utf-16-le"), False),
        (b"", True),
    )
    names = struct.pack("<I", 2) + _name(b"Parameters") + _name(b"Security")
    held = b"\1" + _values((b"ServiceDll", True), (b"servicedll", True)) + b"\1" + _values((b"Security", True))
    content = _name(b"Svc") + own + names + held + b"\0"
    status, parsed = parsed_either(content)
    assert status == "ok"
    by_name = parsed[1]
    assert list(by_name) == ["START", "DISPLAYNAME", "CAF\u00c9", "STRA\u00dfE", ""]
    assert by_name["START"].name == "start" and by_name["CAF\u00c9"].name == "Caf\u00e9"
    assert [list(h[1]) for h in parsed[3:5]] == [["SERVICEDLL"], ["SECURITY"]]
    assert parsed[3][1]["SERVICEDLL"].name == "ServiceDll"


# -- a hit is a copy of the entry's first record (memo.record_from_hit)


# the record's fields a new record gets from a default factory: a container of its own
FACTORY_FIELDS = tuple(
    f.name for f in dataclasses.fields(ServiceRecord) if f.default_factory is not dataclasses.MISSING
)


@needs_c
def test_a_hit_copies_the_entrys_record_and_equals_the_fields_path(write_hive: Writer) -> None:
    """Every hit of a second host is the record the fields path builds (``fields_from_hit``,
    the reference), shares no mutable container with the other hits of its entry, and the
    entry's template is never handed out."""
    from hivescan.scm import memo as memo_module
    from hivescan.scm.record import new_record

    first, second = host(), host()
    many_triggers(first, "Trig", 3)
    later = many_triggers(second, "Trig", 3)
    set_time(later.key("TriggerInfo\\1"), 0x01D9000000000000)
    path_a, path_b = write_hive(first), write_hive(second)
    memo = RecordMemo()
    Read(path_a, memo, "none")
    got = Read(path_b, memo, "none").records
    entries = {key: value[0] for key, value in memo._entries.items() if key[0] == "walk"}
    templates = [entry.template for entry in entries.values() if entry.template is not None]
    assert len(templates) == len(got)  # every key of the second host was a hit
    assert not {id(t) for t in templates} & {id(r) for r in got}
    with hivescan.open_hive(path_b, logs="none") as hive:
        services = hive.control_set_key(1).subkey("Services")  # type: ignore[union-attr]
        assert services is not None
        for key, record in zip(services.subkeys(), got, strict=True):
            found = keywalk.walk_service_key(key)
            assert found is not None
            entry = entries[("walk", found.content, key.security_hex(), False, None)]
            fields = memo_module.fields_from_hit(entry, found)
            want = new_record(origin=record.origin, control_set_source=record.control_set_source, **fields)
            assert record == want and record.to_dict() == want.to_dict()
            for field in ("sources", "subkey_last_writes", "event_facts", "triggers_raw", *FACTORY_FIELDS):
                if getattr(record, field) or field in FACTORY_FIELDS:  # containers: each record its own
                    assert getattr(record, field) is not getattr(entry.template, field), field


@needs_c
def test_copy_slots_refuses_objects_that_are_not_slots_alone() -> None:
    from hivescan.scm._keywalk import copy_slots

    class Plain:
        pass

    with pytest.raises(TypeError):
        copy_slots(Plain())
    with pytest.raises(TypeError):
        copy_slots((1, 2))
    record = Read.__new__(Read)  # a class with a __dict__
    with pytest.raises(TypeError):
        copy_slots(record)


# -- the walker of one Services key (keywalk.service_walker, what build_service_database uses)


def walks_of(path: Path, hoisted: bool) -> list[keywalk.Walked | None]:
    """Every Services subkey's walk, claimed as the rebuild claims it, by the walker or by
    walk_service_key; plus, for the walker, the walk of a key of another reader."""
    out: list[keywalk.Walked | None] = []
    with hivescan.open_hive(path, logs="none") as hive, hivescan.open_hive(path, logs="none") as other:
        services = hive.control_set_key(1).subkey("Services")
        assert services is not None
        walk = keywalk.service_walker(services) if hoisted else keywalk.walk_service_key
        for key in services.subkeys():
            found = walk(key)
            out.append(found)
            if found is not None:
                keywalk.claim_listings(key, found)
        foreign = other.control_set_key(1).subkey("Services")
        assert foreign is not None
        out.append(walk(foreign.subkeys()[0]))
    return out


@needs_c
def test_the_services_walker_answers_as_walk_service_key(write_hive: Writer) -> None:
    root = host(8)
    odd = root.key("ControlSet001\\Services\\Svc03\\Parameters")
    odd.set("Bad", 4, b"\x01\x02")  # a short DWORD is still walked (the decoder notes it)
    path = write_hive(root)
    got, want = walks_of(path, hoisted=True), walks_of(path, hoisted=False)
    assert got == want
    assert sum(found is not None for found in got) == len(got)


@needs_c
def test_the_services_walker_declines_what_walk_service_key_declines(write_hive: Writer) -> None:
    root = host(4)
    services = root.key("ControlSet001\\Services")
    for name in ("Dup", "DUP"):  # subkeys alike (ci) under a service: the walk declines it
        services.key("Alike").subkeys.append(WKey(name))
    path = write_hive(root)
    got, want = walks_of(path, hoisted=True), walks_of(path, hoisted=False)
    assert got == want
    assert None in got
