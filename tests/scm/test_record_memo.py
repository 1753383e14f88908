"""The per-process memo of decoded service keys (issue 13, lever "rebuild").

``build_service_database`` keeps the decoded fields of each service key by its full
content (:class:`hivescan.scm.services.RecordMemo`); a later key of equal content, in this
hive or another, takes them and gets its own provenance. These tests hold the memo to the
memo-less build on real hives and on hives the project writes, show that every kind of
change to a key's content misses it, and that records never share provenance or mutable
containers with the record the entry came from.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

import hivescan
from hivescan.hive.regtypes import REG_BINARY
from hivescan.scm.record import ServiceRecord
from hivescan.scm.services import RecordMemo, build_service_database
from hivescan.testing.regf import WKey
from tests.conftest import shared_hive, system_root

Writer = Callable[..., Path]


def database(path: Path, memo: RecordMemo | None, control_set: int | None = None) -> list[ServiceRecord]:
    """Every record of every control set of a hive, built with ``memo`` (None: no memo)."""
    out: list[ServiceRecord] = []
    with hivescan.open_hive(path, logs="none") as hive:
        numbers = [control_set] if control_set else hive.existing.numbers
        for number in numbers:
            key = hive.control_set_key(number)
            services = key.subkey("Services") if key is not None else None
            if services is not None:
                out += build_service_database(services, hive=hive.hive_ref, control_set=number, memo=memo)
    return out


def assert_same_records(got: list[ServiceRecord], want: list[ServiceRecord]) -> None:
    assert [r.name for r in got] == [r.name for r in want]
    for a, b in zip(got, want, strict=True):
        assert a == b, a.name
        assert a.to_dict() == b.to_dict(), a.name


@pytest.mark.parametrize("name", ["nt4-SYSTEM", "xp-corrupted-SYSTEM", "win7-SYSTEM", "win10-dirty-SYSTEM"])
def test_memo_gives_the_records_of_the_memo_less_build_on_real_hives(name: str) -> None:
    path = shared_hive(name)
    want = database(path, None)
    memo = RecordMemo()
    first = database(path, memo)
    assert memo.hits == 0 or memo.misses > 0  # a first pass decodes (equal keys within a hive may hit)
    again = database(path, memo)  # every key now found in the memo
    assert memo.hits >= len(again)
    assert_same_records(first, want)
    assert_same_records(again, want)


def service(root: WKey, name: str) -> WKey:
    key = root.key(f"ControlSet001\\Services\\{name}")
    key.set_dword("Type", 0x20).set_dword("Start", 2).set_dword("ErrorControl", 1)
    key.set_expand_sz("ImagePath", "%SystemRoot%\\system32\\svchost.exe -k netsvcs")
    key.set_sz("DisplayName", f"@%SystemRoot%\\system32\\{name}.dll,-100")
    key.set_multi_sz("DependOnService", ["RpcSs"])
    key.set_binary("FailureActions", bytes.fromhex("80510100000000000000000003000000140000000100000060ea0000"))
    key.key("Parameters").set_expand_sz("ServiceDll", f"%SystemRoot%\\system32\\{name}.dll")
    key.key("Security").set_binary("Security", bytes.fromhex("01001480140000002000000000000000" + "00" * 16))
    trigger = key.key("TriggerInfo\\0")
    trigger.set_dword("Type", 1).set_dword("Action", 1)
    trigger.set_binary("GUID", bytes(range(16)))
    return key


def host(edit: Callable[[WKey], object] | None = None) -> WKey:
    root = system_root()
    for name in ("AlphaSvc", "BetaSvc", "GammaSvc"):
        service(root, name)
    if edit is not None:
        edit(root.key("ControlSet001\\Services\\BetaSvc"))
    return root


# each edit changes one thing BetaSvc's record is built from (a trigger's time is provenance
# for the compiled walk, content for the Python path: tests/scm/test_keywalk.py)
EDITS: dict[str, Callable[[WKey], object]] = {
    "value data": lambda k: k.set_dword("Start", 3),
    "value type": lambda k: k.set("ImagePath", REG_BINARY, k.values[3].data),
    "value name case": lambda k: k.set_sz("displayname", "Beta"),
    "extra value": lambda k: k.set_sz("Description", "beta"),
    "short dword": lambda k: k.set("ErrorControl", 4, b"\x01\x00"),
    "parameters value": lambda k: k.key("Parameters").set_expand_sz("ServiceDll", "C:\\evil.dll"),
    "security value": lambda k: k.key("Security").set_binary("Security", b"\x01\x00\x04\x80"),
    "trigger value": lambda k: k.key("TriggerInfo\\0").set_dword("Action", 2),
    "trigger subkey name": lambda k: setattr(k.key("TriggerInfo\\0"), "name", "1"),
    "other subkey": lambda k: k.key("Enum"),
    "key security": lambda k: setattr(k, "security", bytes.fromhex("01000480" + "00" * 16)),
}


@pytest.mark.parametrize("what", sorted(EDITS))
def test_a_changed_key_misses_the_memo(write_hive: Writer, what: str) -> None:
    memo = RecordMemo()
    database(write_hive(host()), memo)
    before = (memo.hits, memo.misses)
    edited = write_hive(host(EDITS[what]))
    got = database(edited, memo)
    assert memo.misses - before[1] == 1, what  # BetaSvc alone is decoded again ...
    assert memo.hits - before[0] == 2, what  # ... AlphaSvc and GammaSvc come from the memo
    assert_same_records(got, database(edited, None))


def test_the_same_content_under_other_provenance_hits_and_keeps_its_own(write_hive: Writer) -> None:
    memo = RecordMemo()
    first = {r.name: r for r in database(write_hive(host()), memo)}
    later = host()
    later.key("ControlSet001\\Services\\BetaSvc").last_write = 0x01D5000000000000
    later.key("ControlSet001\\Services\\BetaSvc\\Parameters").last_write = 0x01D6000000000000
    path = write_hive(later, "SYSTEM-elsewhere")
    got = {r.name: r for r in database(path, memo)}
    assert memo.hits == 3  # key times are provenance, not content
    assert_same_records(list(got.values()), database(path, None))
    beta, old = got["BetaSvc"], first["BetaSvc"]
    assert beta.origin.hive_path == str(path) and beta.origin.last_write_filetime == 0x01D5000000000000
    assert beta.subkey_last_writes["Parameters"] == 0x01D6000000000000 != old.subkey_last_writes["Parameters"]
    for field in ("sources", "subkey_last_writes", "triggers_raw", "event_facts"):  # mutable: each record its own
        assert getattr(beta, field) is not getattr(old, field), field
    for field in ("raw_values", "parameters_raw"):  # immutable tuples of immutable values: sharing is sound
        assert type(getattr(beta, field)) is tuple and getattr(beta, field) == getattr(old, field), field
        assert all(type(v.data) is bytes and type(v.notes) is tuple for v in getattr(beta, field)), field
    for mine, theirs in zip(beta.triggers_raw, old.triggers_raw, strict=True):
        assert mine is not theirs


def test_memo_is_bounded_and_oldest_go_first(write_hive: Writer) -> None:
    memo = RecordMemo(limit=2)
    root = host()
    database(write_hive(root), memo)
    assert len(memo) == 2 and memo.misses == 3
    database(write_hive(copy.deepcopy(root)), memo)
    assert len(memo) == 2 and memo.hits == 0  # AlphaSvc was evicted first, and each miss evicts the next


def test_lenient_is_part_of_the_key(write_hive: Writer) -> None:
    root = host(lambda k: setattr(k, "values", [v for v in k.values if v.name != "ErrorControl"]))
    path = write_hive(root)
    memo = RecordMemo()
    with hivescan.open_hive(path, logs="none") as hive:
        services = hive.control_set_key(1).subkey("Services")  # type: ignore[union-attr]
        strict = build_service_database(services, hive=hive.hive_ref, control_set=1, memo=memo)
    with hivescan.open_hive(path, logs="none") as hive:
        services = hive.control_set_key(1).subkey("Services")  # type: ignore[union-attr]
        lenient = build_service_database(services, hive=hive.hive_ref, control_set=1, memo=memo, lenient=True)
    assert [r.status for r in strict if r.name == "BetaSvc"] == ["rejected"]
    assert [r.status for r in lenient if r.name == "BetaSvc"] == ["database"]


def test_memo_holds_no_more_than_its_byte_bounds(write_hive: Writer) -> None:
    root = host()
    root.key("ControlSet001\\Services\\AlphaSvc").set_binary("Big", bytes(200_000))  # past max_entry_bytes
    for name in ("BetaSvc", "GammaSvc"):
        root.key(f"ControlSet001\\Services\\{name}").set_binary("Mid", bytes(20_000))
    memo = RecordMemo(max_bytes=30_000, max_entry_bytes=64 << 10)
    got = database(write_hive(root), memo)
    assert len(memo) == 1 and 20_000 < memo.held_bytes <= 30_000  # AlphaSvc never kept; BetaSvc made room for Gamma
    second = write_hive(copy.deepcopy(root))
    again = database(second, memo)
    assert memo.hits == 0  # Alpha too big, Beta evicted, Gamma evicted by Beta again
    assert_same_records(again, database(second, None))
    assert len(got) == 3


def test_threads_sharing_the_memo_keep_it_bounded_and_correct(write_hive: Writer) -> None:
    """A Dask worker may run several threads in one process: they share the memo."""
    from concurrent.futures import ThreadPoolExecutor

    paths = []
    for i in range(6):
        root = host()
        root.key(f"ControlSet001\\Services\\Extra{i}").set_dword("Type", 16).set_dword("Start", 3)
        paths.append(write_hive(root, f"SYSTEM-thread-{i}"))
    memo = RecordMemo(limit=3)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda p: database(p, memo), paths * 3))
    assert len(memo) <= 3
    for path, got in zip(paths * 3, results, strict=True):
        assert_same_records(got, database(path, None))
