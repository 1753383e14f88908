"""Marking what a log replay changed by the bytes it changed (scm/logmarks.py, scm/logwalk.py)
against the reference: every record of the primary file rebuilt and compared (logdiff.py).

The shortcut must give the reference's records and diagnostics exactly, and must actually be
a shortcut: on a clean change it does not decline, and it compares only the records whose
bytes changed. Checked on dirty hives built with changes of every kind (values added, changed
and removed, keys added and removed, Parameters/ServiceDll, big data, TriggerInfo, a per-user
template whose instances inherit its ServiceDll), on byte edits of a built hive (one cell in
a page shared by several services, an sk reference count), on hypothesis-built edits, on the
fixtures and on the real Windows 10 dirty hive. The compiled walk is checked equal to the
Python walk on the same inputs.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.errors import HivescanError
from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader
from hivescan.scm import logwalk
from hivescan.scm.logmarks import Declined, Marked, mark_touched
from hivescan.system import SystemHive
from hivescan.system.replayed import mark_by_rebuild
from hivescan.testing.logs import build_dirty_from_spec, make_dirty
from hivescan.testing.spec import build_from_spec

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

compiled = pytest.mark.skipif(
    logwalk.IMPLEMENTATION != "c", reason="the C extension hivescan.scm._logwalk is not built (no compiler at install)"
)

SERVICES: dict[str, Any] = {
    "Tcpip": {"values": {"Type": 1, "Start": 0, "ErrorControl": 3,
                         "ImagePath": {"expand_sz": r"System32\drivers\tcpip.sys"}}},
    "Dnscache": {
        "values": {
            "Type": 0x20,
            "Start": 2,
            "ErrorControl": 1,
            "ImagePath": {"expand_sz": r"%SystemRoot%\system32\svchost.exe -k NetworkService -p"},
            "ObjectName": r"NT AUTHORITY\NetworkService",
        },
        "keys": {"Parameters": {"values": {"ServiceDll": {"expand_sz": r"%SystemRoot%\System32\dnsrslvr.dll"}}}},
    },
    "Spooler": {
        "values": {"Type": 0x110, "Start": 2, "ErrorControl": 1,
                   "ImagePath": {"expand_sz": r"%SystemRoot%\System32\spoolsv.exe"},
                   "DependOnService": ["RPCSS", "http"]},
        "keys": {"TriggerInfo": {"keys": {"0": {"values": {"Type": 7, "Action": 1}}}}},
    },
    "BigData": {
        "values": {"Type": 0x10, "Start": 3, "ErrorControl": 1, "ImagePath": r"C:\big.exe",
                   "Blob": {"binary": "ab" * 20000}},
    },
    "CDPUserSvc": {
        "values": {"Type": 0x60, "Start": 2, "ErrorControl": 1,
                   "ImagePath": {"expand_sz": r"%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup"}},
        "keys": {"Parameters": {"values": {"ServiceDll": {"expand_sz": r"%SystemRoot%\System32\CDPUserSvc.dll"}}}},
    },
    "CDPUserSvc_1a2b3": {
        "values": {"Type": 0xE0, "Start": 2, "ErrorControl": 1,
                   "ImagePath": r"C:\Windows\system32\svchost.exe -k UnistackSvcGroup"},
    },
    "OldAgent": {"values": {"Type": 0x10, "Start": 2, "ErrorControl": 1, "ImagePath": r"C:\agent.exe"}},
}  # fmt: skip
for _n in range(40):  # enough services that the hive has many pages and unchanged neighbours
    SERVICES[f"Filler{_n:02d}"] = {
        "values": {
            "Type": 0x10,
            "Start": 3,
            "ErrorControl": 1,
            "ImagePath": rf"C:\filler\{_n}.exe",
            "DisplayName": f"Filler {_n}",
        }
    }

BASE: dict[str, Any] = {
    "hive": {"file_name": "SYSTEM", "minor_version": 5},
    "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 1, "Failed": 0}}},
    "control_sets": [{"number": 1, "services": SERVICES}],
}


def _changed(name: str, **edit: Any) -> dict[str, Any]:
    """A log entry that replaces service ``name`` by its spec with ``edit`` applied."""
    spec = copy.deepcopy(SERVICES.get(name, {}))
    for field, value in edit.items():
        if field == "drop_values":
            for value_name in value:
                del spec["values"][value_name]
        elif field == "keys":
            spec["keys"] = value
        else:
            spec.setdefault("values", {})[field] = value
    return {"control_sets": [{"number": 1, "services": {name: spec}}]}


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "value changed": [_changed("Tcpip", Start=1)],
    "value added": [_changed("Tcpip", Description="added by the logs")],
    "value removed": [_changed("Dnscache", drop_values=["ObjectName"])],
    "key added": [_changed("Evil", Type=0x10, Start=2, ErrorControl=1, ImagePath=r"C:\evil.exe")],
    "key removed": [{"control_sets": [{"number": 1, "drop_services": ["OldAgent"]}]}],
    "subkey added": [_changed("Tcpip", keys={"Parameters": {"values": {"EnableDHCP": 1}}})],
    "ServiceDll changed": [
        _changed("Dnscache", keys={"Parameters": {"values": {"ServiceDll": {"expand_sz": r"C:\evil\dnsrslvr.dll"}}}})
    ],
    "big data changed": [_changed("BigData", Blob={"binary": "ab" * 19999 + "cd"})],
    "trigger changed": [
        _changed("Spooler", keys={"TriggerInfo": {"keys": {"0": {"values": {"Type": 7, "Action": 2}}}}})
    ],
    "template ServiceDll changed": [
        _changed("CDPUserSvc", keys={"Parameters": {"values": {"ServiceDll": {"expand_sz": r"C:\evil\cdp.dll"}}}})
    ],
    "template removed": [{"control_sets": [{"number": 1, "drop_services": ["CDPUserSvc"]}]}],
    "several entries": [
        _changed("Tcpip", Start=1),
        {"control_sets": [{"number": 1, "drop_services": ["OldAgent"]}]},
        _changed("Filler07", ImagePath=r"C:\other.exe"),
    ],
}


def _both(path: Path, lenient: bool = False) -> tuple[Marked | None, tuple[list[Any], list[Any]]]:
    """(the shortcut's answer or None when it declines, the reference's) for the current set."""
    with hivescan.open_hive(path) as hive:
        numbers = [c.number for c in hive.resolve("current").chosen]
        replayed = hive.log_replay
        assert replayed is not None and replayed.replayed
        hive.log_replay = None  # the records as built, unmarked
        records = hive._build_live_services("current", lenient=lenient)
        hive.log_replay = replayed
        with SystemHive(hive.evidence, logs="none", require_system=False) as view:
            try:
                fast: Marked | None = mark_touched(
                    records,
                    replayed=hive.reader,
                    primary=view.reader,
                    writes=replayed.writes,
                    after_set=hive.control_set_key(numbers[0]),  # type: ignore[arg-type]
                    before_set=view.control_set_key(numbers[0]),  # type: ignore[arg-type]
                    number=numbers[0],
                    primary_hive=view.hive_ref,
                    lenient=lenient,
                )
            except Declined:
                fast = None
        with SystemHive(hive.evidence, logs="none", require_system=False) as view:
            reference = mark_by_rebuild(view, records, numbers, lenient)
    return fast, reference


def _same(fast: Marked, reference: tuple[list[Any], list[Any]]) -> None:
    assert [r.to_dict() for r in fast.records] == [r.to_dict() for r in reference[0]]
    assert [(d.code, d.field, d.message, d.level) for d in fast.diagnostics] == [
        (d.code, d.field, d.message, d.level) for d in reference[1]
    ]


def _changed_names(reference: tuple[list[Any], list[Any]]) -> set[str]:
    return {r.name.upper() for r in reference[0] if r.log_replay_changes}


def _write(tmp_path: Path, states: list[bytes], fmt: str = "new") -> Path:
    path = tmp_path / "SYSTEM"
    make_dirty(states, fmt=fmt).write(path)
    return path


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("fmt", ["new", "old"])
def test_built_changes_match_the_reference(tmp_path: Path, name: str, fmt: str) -> None:
    spec = {**BASE, "logs": {"format": fmt, "sequence": 100, "entries": SCENARIOS[name]}}
    path = tmp_path / "SYSTEM"
    build_dirty_from_spec(spec).write(path)
    fast, reference = _both(path)
    assert fast is not None, "a clean change must not make the shortcut decline"
    _same(fast, reference)
    assert _changed_names(reference) or reference[1], "the scenario changes something"
    assert _changed_names(reference) <= fast.compared


def test_instances_follow_their_template(tmp_path: Path) -> None:
    spec = {**BASE, "logs": {"entries": SCENARIOS["template ServiceDll changed"]}}
    build_dirty_from_spec(spec).write(tmp_path / "SYSTEM")
    fast, reference = _both(tmp_path / "SYSTEM")
    assert fast is not None
    marked = {r.name: r for r in fast.records}
    assert "service_dll" in marked["CDPUserSvc_1a2b3"].log_replay_changes  # inherited, not stored
    _same(fast, reference)


def _reader(data: bytes) -> HiveReader:
    return HiveReader(HiveSource.from_bytes(data))


def _value_cell(data: bytes, service: str, value: str) -> tuple[int, int, int]:
    """(vk file offset, data file offset or -1 when inline, data size) of a service's value."""
    reader = _reader(data)
    try:
        key = reader.key(f"ControlSet001\\Services\\{service}")
        assert key is not None and key._nk is not None
        for off in reader.cells.value_offsets(key._nk):
            vk = reader.cells.vk(off)
            if vk.name.upper() == value.upper():
                size, data_off = struct.unpack_from("<II", data, BASE_BLOCK_SIZE + off + 4 + 4)
                inline = bool(size & 0x80000000)
                return BASE_BLOCK_SIZE + off, -1 if inline else BASE_BLOCK_SIZE + data_off, size & 0x7FFFFFFF
    finally:
        reader.close()
    raise AssertionError(f"{service}\\{value} not found")


@pytest.fixture(scope="module")
def clean() -> bytes:
    return build_from_spec(BASE).data


def test_one_cell_in_a_shared_page_marks_one_record(tmp_path: Path, clean: bytes) -> None:
    """The kernel logs whole pages; only the service whose bytes differ is compared."""
    vk, _data, _size = _value_cell(clean, "Filler10", "Start")
    neighbours = [
        name for name in SERVICES if name != "Filler10" and _value_cell(clean, name, "Start")[0] // 4096 == vk // 4096
    ]
    assert neighbours, "the page holds other services' cells too"
    after = bytearray(clean)
    struct.pack_into("<I", after, vk + 12, 4)  # Start 3 -> 4 (inline DWORD: the data-offset field)
    fast, reference = _both(_write(tmp_path, [clean, bytes(after)]))
    assert fast is not None
    _same(fast, reference)
    assert fast.compared == {"FILLER10"} and fast.built == 1
    assert _changed_names(reference) == {"FILLER10"}


def test_data_cell_change_is_found(tmp_path: Path, clean: bytes) -> None:
    _vk, data_at, size = _value_cell(clean, "Filler20", "ImagePath")
    after = bytearray(clean)
    after[data_at + 4 : data_at + 6] = "D".encode("utf-16-le")  # C:\filler -> D:\filler
    fast, reference = _both(_write(tmp_path, [clean, bytes(after)]))
    assert fast is not None and size > 4
    _same(fast, reference)
    assert fast.compared == {"FILLER20"} == _changed_names(reference)


def test_sk_reference_count_alone_changes_no_record(tmp_path: Path, clean: bytes) -> None:
    """A new key with a shared descriptor moves the sk cell's reference count: not a change of
    the records that use that descriptor."""
    reader = _reader(clean)
    try:
        key = reader.key("ControlSet001\\Services\\Tcpip")
        assert key is not None and key._nk is not None
        sk = BASE_BLOCK_SIZE + key._nk.security
    finally:
        reader.close()
    after = bytearray(clean)
    count = struct.unpack_from("<I", after, sk + 4 + 12)[0]
    struct.pack_into("<I", after, sk + 4 + 12, count + 1)
    fast, reference = _both(_write(tmp_path, [clean, bytes(after)]))
    assert fast is not None
    _same(fast, reference)
    assert fast.compared == set() and fast.built == 0 and not _changed_names(reference)


def test_renamed_key_is_removed_and_new(tmp_path: Path, clean: bytes) -> None:
    reader = _reader(clean)
    try:
        key = reader.key("ControlSet001\\Services\\Filler30")
        assert key is not None and key._nk is not None
        name_at = BASE_BLOCK_SIZE + key._nk.offset + 4 + 76
    finally:
        reader.close()
    after = bytearray(clean)
    assert after[name_at : name_at + 8] == b"Filler30"
    after[name_at : name_at + 8] = b"Xiller30"
    fast, reference = _both(_write(tmp_path, [clean, bytes(after)]))
    assert fast is not None
    _same(fast, reference)
    assert [d.code for d in fast.diagnostics] == ["log_replay_removed_service"]


def test_non_ascii_subkey_name_declines_and_services_still_match(tmp_path: Path) -> None:
    services = {**SERVICES, "Tcpip": {**SERVICES["Tcpip"], "keys": {"Paramètres": {"values": {"X": 1}}}}}
    base = {**BASE, "control_sets": [{"number": 1, "services": services}]}
    spec = {**base, "logs": {"entries": [_changed("Filler01", Start=2)]}}
    build_dirty_from_spec(spec).write(tmp_path / "SYSTEM")
    fast, reference = _both(tmp_path / "SYSTEM")
    assert fast is None  # declined: the reference runs
    with hivescan.open_hive(tmp_path / "SYSTEM") as hive:
        records = hive.services()
    assert [r.to_dict() for r in records] == [r.to_dict() for r in reference[0]]


@pytest.mark.parametrize("name", ["dirty-SYSTEM", "dirty-old-SYSTEM"])
def test_fixtures_match_the_reference(name: str) -> None:
    fast, reference = _both(FIXTURES / name)
    assert fast is not None
    _same(fast, reference)


def test_windows10_dirty_hive_matches_the_reference(shared: Callable[[str], Path]) -> None:
    path = shared("win10-dirty-SYSTEM")
    shared("win10-dirty-SYSTEM.LOG1")
    shared("win10-dirty-SYSTEM.LOG2")
    fast, reference = _both(path)
    assert fast is not None
    _same(fast, reference)
    assert len(_changed_names(reference)) == 8 and len(fast.compared) < 40  # of 656 services


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)), min_size=1, max_size=6))
def test_random_edits_match_the_reference(tmp_path: Path, clean: bytes, edits: list[tuple[int, bytes]]) -> None:
    """Random bytes written over the hive bins: the shortcut, when it answers, gives the
    reference's answer; the compiled and the Python walks agree."""
    after = bytearray(clean)
    bins = len(clean) - BASE_BLOCK_SIZE
    for where, data in edits:
        at = BASE_BLOCK_SIZE + 32 + where % (bins - 40)  # past the first hive-bin header
        after[at : at + len(data)] = data
    path = _write(tmp_path, [clean, bytes(after)])
    try:
        with hivescan.open_hive(path) as hive:
            assert hive.log_replay is not None
            image, primary, writes = hive.source.data, hive.evidence.data, hive.log_replay.writes
            chosen = hive.resolve("current").chosen
            key = hive.control_set_key(chosen[0].number) if chosen else None
            services = key.subkey("Services") if key is not None else None
            offsets = [k.cell_offset or 0 for k in services.subkeys()] if services is not None else []
    except HivescanError:
        return  # the edits broke what the reader needs before any marking
    limit = len(primary)
    bits = logwalk.changed_sectors(primary, image, writes, limit)
    python = logwalk.walk_services_py(image, primary, bits, limit, 5, offsets)
    either = logwalk.walk_services(image, primary, bits, limit, 5, offsets)
    assert isinstance(python, str) == isinstance(either, str)
    if not isinstance(python, str):
        assert tuple(python) == tuple(either)
    if not offsets:
        return
    fast, reference = _both(path)
    if fast is not None:
        _same(fast, reference)


@compiled
@pytest.mark.parametrize("name", ["dirty-SYSTEM", "dirty-old-SYSTEM", "demo-SYSTEM", "deleted-SYSTEM"])
def test_compiled_walk_equals_python_walk(name: str) -> None:
    with hivescan.open_hive(FIXTURES / name) as hive:
        number = hive.resolve("current").chosen[0].number
        services = hive.control_set_key(number).subkey("Services")  # type: ignore[union-attr]
        assert services is not None
        offsets = [k.cell_offset or 0 for k in services.subkeys()]
        image, primary = hive.source.data, hive.evidence.data
        writes = hive.log_replay.writes if hive.log_replay is not None else ()
    bits = logwalk.changed_sectors(primary, image, writes, len(primary))
    python = logwalk.walk_services_py(image, primary, bits, len(primary), 5, offsets)
    compiled_walk = logwalk.walk_services(image, primary, bits, len(primary), 5, offsets)
    assert not isinstance(python, str) and tuple(python) == tuple(compiled_walk)


@compiled
@settings(max_examples=200, deadline=None)
@given(
    pattern=st.binary(min_size=1, max_size=16),
    sectors=st.integers(8, 14),
    grow=st.integers(0, 3 * 512),
    edits=st.lists(st.tuples(st.integers(0, 8 * 512), st.binary(min_size=1, max_size=40)), max_size=5),
    runs=st.lists(st.tuples(st.integers(0, 9 * 512), st.integers(1, 3 * 512)), max_size=5),
    limit=st.integers(0, 10 * 512),
)
def test_compiled_sector_diff_equals_python(
    pattern: bytes, sectors: int, grow: int, edits: list[tuple[int, bytes]], runs: list[tuple[int, int]], limit: int
) -> None:
    primary = (pattern * (sectors * 512))[: sectors * 512]
    image = bytearray(primary + bytes(grow))
    for at, data in edits:
        image[at : at + len(data)] = data[: max(0, len(image) - at)]
    image_bytes = bytes(image)
    spans = [(a, min(a + n, len(image_bytes))) for a, n in runs if a < len(image_bytes)]
    limit = min(limit, len(primary))
    python_bits = bytearray((len(image_bytes) >> 9) + 1)
    compiled_bits = bytearray(len(python_bits))
    python = logwalk._diff_sectors_py(primary, image_bytes, spans, limit, python_bits)
    assert logwalk._diff_c is not None
    assert logwalk._diff_c(primary, image_bytes, spans, limit, compiled_bits) == python
    assert compiled_bits == python_bits


def test_without_the_extension_the_python_walk_gives_the_same_records(monkeypatch: pytest.MonkeyPatch) -> None:
    with hivescan.open_hive(FIXTURES / "dirty-SYSTEM") as hive:
        expected = [r.to_dict() for r in hive.services()]
    monkeypatch.setattr(logwalk, "_walk_c", None)
    monkeypatch.setattr(logwalk, "_diff_c", None)
    fast, reference = _both(FIXTURES / "dirty-SYSTEM")
    assert fast is not None
    _same(fast, reference)
    assert [r.to_dict() for r in fast.records] == expected
