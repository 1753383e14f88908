"""Subkey lists shaped into cycles never reach a parser library (issue 11, defect 1).

regipy-rs follows an ``ri`` (index root) entry wherever it points: an index root naming
itself, or two naming each other, made it allocate until the process died (SIGABRT and a Rust
backtrace under a memory cap). Each case runs the real command in a child process with an
address-space limit and a timeout, so a regression fails the test instead of the test run.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest

from hivescan.hive.cells import Cells
from hivescan.hive.tree import open_reader
from hivescan.testing.regf import HiveWriter, WKey
from tests.conftest import run_capped, shared_hive, system_root

TIMEOUT_S = 60


def run_hivescan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_capped("hivescan", *args, timeout=TIMEOUT_S)


def list_cell(data: bytes, path: str) -> int:
    """The subkey-list cell offset of the key at ``path`` (read with the project's cell reader)."""
    cells = Cells(data)
    root = cells.nk(struct.unpack_from("<I", data, 36)[0])
    nk = root
    for part in path.split("\\"):
        for off in cells.subkey_offsets(nk.subkey_list):
            child = cells.nk(off)
            if child.name.upper() == part.upper():
                nk = child
                break
        else:
            raise KeyError(path)
    return nk.subkey_list


def make_index_root(buf: bytearray, list_offset: int, target: int) -> None:
    """Rewrite a list cell as an ``ri`` with one entry naming ``target`` (8 bytes changed)."""
    at = 4096 + list_offset + 4
    buf[at : at + 2] = b"ri"
    struct.pack_into("<HI", buf, at + 2, 1, target)


def services_hive() -> bytes:
    root: WKey = system_root(sets=(1, 2))
    for n in (1, 2):
        for i in range(6):
            svc = root.key(f"ControlSet{n:03d}\\Services\\Svc{i}")
            svc.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    return HiveWriter(root).build().data


COMMANDS = [
    ("services", "--deleted", "-c", "all", "-f", "jsonl"),
    ("info",),
    ("scan", "-f", "jsonl"),
]


def assert_clean_exit(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr
    assert "subkey_list_unsound" in done.stderr + done.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_index_root_naming_itself_is_refused(tmp_path: Path, command: tuple[str, ...]) -> None:
    data = bytearray(services_hive())
    services = list_cell(data, "ControlSet001\\Services")
    make_index_root(data, services, services)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(data)
    assert_clean_exit(run_hivescan(command[0], str(hive), *command[1:]))


def test_index_roots_naming_each_other_are_refused(tmp_path: Path) -> None:
    data = bytearray(services_hive())
    one, two = list_cell(data, "ControlSet001\\Services"), list_cell(data, "ControlSet002\\Services")
    make_index_root(data, one, two)
    make_index_root(data, two, one)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(data)
    done = run_hivescan("services", str(hive), "--deleted", "-c", "all", "-f", "jsonl")
    assert_clean_exit(done)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    # the services are not lost: they come back as orphaned keys (allocated, reached by no list)
    names = sorted(r["name"] for r in records if r["status"] == "orphaned")
    assert names == sorted([f"Svc{i}" for i in range(6)] * 2)


def test_real_nt4_hive_with_a_self_referencing_index_root(tmp_path: Path) -> None:
    """The issue's reproduction: nt4-SYSTEM's ControlSet001\\Services list made an ri naming itself."""
    data = bytearray(shared_hive("nt4-SYSTEM").read_bytes())
    services = list_cell(data, "ControlSet001\\Services")
    make_index_root(data, services, services)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(data)
    done = run_hivescan("services", str(hive), "--deleted", "-c", "all", "-f", "jsonl")
    assert_clean_exit(done)
    statuses = [json.loads(line)["status"] for line in done.stdout.splitlines()]
    assert statuses.count("orphaned") == 136  # every service key of the list, none lost


def test_index_root_over_good_leaves_keeps_every_key(tmp_path: Path) -> None:
    """A sound ri (as large real hives have) still goes to the fast library path, all keys read."""
    root: WKey = system_root()
    for i in range(40):
        root.key(f"ControlSet001\\Services\\Svc{i:02d}").set_dword("Type", 16)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root, subkey_list="ri", ri_leaf_size=7).build().data)
    with open_reader(hive) as reader:
        services = reader.key("ControlSet001\\Services")
        assert services is not None
        assert len(services.subkeys()) == 40
        assert {k.parser for k in services.subkeys()} == {"regipy-rs"}
        assert not reader.diagnostics


def test_leaf_under_an_index_root_cut_to_its_cell(tmp_path: Path) -> None:
    """A leaf counting more entries than its cell holds: the entries that fit are kept, with a note."""
    root: WKey = system_root()
    for i in range(12):
        root.key(f"ControlSet001\\Services\\Svc{i:02d}").set_dword("Type", 16)
    data = bytearray(HiveWriter(root, subkey_list="ri", ri_leaf_size=4).build().data)
    services = list_cell(data, "ControlSet001\\Services")
    first_leaf = struct.unpack_from("<I", data, 4096 + services + 8)[0]
    struct.pack_into("<H", data, 4096 + first_leaf + 6, 0xFFFF)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(data)
    cells = Cells(bytes(data))
    offsets, problems = cells.subkey_list(services)
    assert len(offsets) >= 12 and any("claims 65535 entries" in p for p in problems)
    with open_reader(hive) as reader:
        key = reader.key("ControlSet001\\Services")
        assert key is not None
        names = {k.name for k in key.subkeys()}
        assert {f"Svc{i:02d}" for i in range(12)} <= names
        assert any(d.code == "subkey_list_unsound" for d in reader.diagnostics)


def test_a_list_shared_by_many_keys_is_read_once(tmp_path: Path) -> None:
    """Every service key given the Services key's own subkey list: each key then lists its
    siblings, and a walk of the tree visited n! paths (a few keys make millions). A key cell
    is given out once; listed again elsewhere it is skipped with a note."""
    root: WKey = system_root()
    names = [f"S{i}" for i in range(7)]
    for name in names:
        root.key(f"ControlSet001\\Services\\{name}").set_dword("Type", 16).set_dword("Start", 3)
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    shared = list_cell(data, "ControlSet001\\Services")
    for name in names:
        nk = 4096 + built.key_offsets[f"ControlSet001\\Services\\{name}"] + 4
        struct.pack_into("<I", data, nk + 0x14, len(names))
        struct.pack_into("<I", data, nk + 0x1C, shared)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(data)
    with open_reader(hive) as reader:
        walked = [key.path for key in reader.root().walk()]
        services = reader.key("ControlSet001\\Services")
        assert services is not None and sorted(k.name for k in services.subkeys()) == names
        notes = [d.message for k in services.subkeys() for d in k.diagnostics if d.code == "subkey_entries_invalid"]
    assert len(walked) == len(built.key_offsets) + 1  # every key cell once, plus the root
    assert notes and all("already listed elsewhere" in n for n in notes)


def test_an_entry_pointing_at_an_ancestor_is_named_at_hive_level(tmp_path: Path) -> None:
    """An lh entry of Services rewritten to point at ControlSet001 (its parent's nk) lost one
    service with only "2 subkeys declared, 1 readable" on stderr and in `info`: the reason
    (a cycle) was noted on the Services key, which is no record and shows its notes nowhere."""
    root: WKey = system_root()
    for name in ("Alpha", "Beta"):
        svc = root.key(f"ControlSet001\\Services\\{name}")
        svc.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", f"C:\\{name}.exe")
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    services_nk = 4096 + built.key_offsets["ControlSet001\\Services"] + 4
    subkey_list = struct.unpack_from("<I", data, services_nk + 0x1C)[0]
    struct.pack_into("<I", data, 4096 + subkey_list + 4 + 4, built.key_offsets["ControlSet001"])  # entry 0: Alpha
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(bytes(data))
    done = run_hivescan("services", str(hive), "-f", "jsonl", "--deleted")
    assert done.returncode == 0, done.stderr
    incomplete = [line for line in done.stderr.splitlines() if "subkey_list_incomplete" in line]
    assert incomplete and "points back at an ancestor" in incomplete[0], done.stderr
    statuses = {json.loads(line)["name"]: json.loads(line)["status"] for line in done.stdout.splitlines()}
    assert statuses == {"Alpha": "orphaned", "Beta": "database"}
