"""Looking service binaries up: the fast path (every path looked up first, folders remembered,
a complete listing answering absent names) gives what one fresh lookup per path gives."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.files.facts import FileAnalyser
from hivescan.files.source import FolderSource, _listing, _match
from hivescan.testing.pe import build_pe
from tests.conftest import shared_hive

NAMES = st.sampled_from(["a", "A", "ab", "aB", "AB", "b", "%41", "x.sys", "X.SYS", "ß", "SS"])


def _reference_match(directory: Path, name: str) -> str | None:
    """How an entry was matched before listings answered absent names: ask the filesystem for
    the exact name, else take the first listed entry of that upper-case name."""
    if (directory / name).exists():
        return name
    found = _listing(directory).names.get(name.upper())
    return found[0] if found else None


@settings(max_examples=60, deadline=None)
@given(entries=st.sets(NAMES, max_size=6), asked=st.lists(NAMES, min_size=1, max_size=6))
def test_match_agrees_with_the_filesystem(entries: set[str], asked: list[str]) -> None:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for name in entries:
            try:
                (folder / name).write_bytes(b"")
            except OSError:
                continue  # a case-insensitive filesystem: the other spelling is already there
        listing = _listing(folder)
        for name in asked:
            assert _match(folder, name, listing) == _reference_match(folder, name)


def test_match_broken_link_and_cut_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dangling link is listed but does not exist; a listing cut at its bound asks the filesystem."""
    os.symlink(tmp_path / "nowhere", tmp_path / "Dangling")
    assert _match(tmp_path, "dangling", _listing(tmp_path)) == _reference_match(tmp_path, "dangling") == "Dangling"
    for index in range(3):
        (tmp_path / f"f{index}").write_bytes(b"")
    import hivescan.files.source as source_module

    monkeypatch.setattr(source_module, "MAX_DIRECTORY_ENTRIES", 1)
    cut = _listing(tmp_path)
    assert not cut.complete
    for name in ("f0", "f1", "f2", "F2", "gone"):
        assert _match(tmp_path, name, cut) == (name if (tmp_path / name).exists() else _match(tmp_path, name))


def test_remembered_folders_keep_the_exact_case(tmp_path: Path) -> None:
    """On a case-sensitive filesystem ``drivers`` and ``Drivers`` are two folders: a folder
    remembered under one spelling never answers for the other."""
    for folder, name in (("drivers", "a.sys"), ("Drivers", "b.sys")):
        path = tmp_path / "Windows" / "System32" / folder
        path.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(b"MZ")
    if len(os.listdir(tmp_path / "Windows" / "System32")) != 2:
        return  # a case-insensitive filesystem holds one folder: nothing to tell apart
    source = FolderSource(tmp_path)
    first = source.stat("Windows\\System32\\drivers\\a.sys")
    assert first is not None and first.path == "\\Windows\\System32\\drivers\\a.sys"
    second = source.stat("Windows\\System32\\Drivers\\b.sys")
    assert second is not None and second.path == "\\Windows\\System32\\Drivers\\b.sys"
    assert source.stat("Windows\\System32\\drivers\\b.sys") is None
    assert source.stat("Windows\\System32\\Drivers\\a.sys") is None
    assert source.stat("Windows\\System32\\nothere\\x.sys") is None
    (tmp_path / "Windows" / "System32" / "nothere").mkdir()
    (tmp_path / "Windows" / "System32" / "nothere" / "x.sys").write_bytes(b"MZ")
    assert FolderSource(tmp_path).stat("Windows\\System32\\nothere\\x.sys") is not None  # a new source asks again


def _volume(tmp_path: Path, hive: Path, *, core: bool) -> tuple[Path, list[str]]:
    """A KAPE-like folder holding a copy of ``hive``, some of its services' binaries (in other
    case than the hive spells them), and the core binaries when ``core``."""
    volume = tmp_path / "HOST"
    config = volume / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    shutil.copyfile(hive, config / "SYSTEM")
    with hivescan.open_hive(config / "SYSTEM") as bare:
        paths = sorted({p for r in bare.services("all") for p in (r.image_path_resolved, r.service_dll_expanded) if p})
    planted = []
    for index, path in enumerate(paths[::7]):
        if not path.upper().startswith("C:\\"):
            continue
        target = volume.joinpath(*path[3:].swapcase().split("\\"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(build_pe(subsystem=1 + index % 2) + index.to_bytes(4, "little"))
        planted.append(path)
    if core:
        (volume / "Windows" / "System32" / "ntdll.dll").write_bytes(b"MZ")
    return volume, planted


def _one_by_one(volume: Path, path: str | None) -> object:
    """The facts of one path from an analyser that has seen nothing else (the slow path)."""
    return FileAnalyser(FolderSource(volume)).facts(path)


def _check_against_one_by_one(volume: Path) -> list[hivescan.ServiceRecord]:
    with hivescan.open_hive(volume) as hive:
        records = hive.services("all", deleted=True)
    assert records
    spellings: dict[str, str] = {}  # one file per upper-case path: its first spelling in sorted order
    for path in sorted({p for r in records for p in (r.image_path_resolved, r.service_dll_expanded) if p}):
        spellings.setdefault(path.upper(), path)
    for record in records:
        for path, facts in (
            (record.image_path_resolved, record.image_file),
            (record.service_dll_expanded, record.service_dll_file),
        ):
            expected = _one_by_one(volume, spellings[path.upper()] if path else None)
            assert json.dumps(facts, sort_keys=True) == json.dumps(expected, sort_keys=True)
    return records


def test_collection_without_binaries_same_facts_as_one_by_one(tmp_path: Path) -> None:
    volume, planted = _volume(tmp_path, shared_hive("win10-dirty-SYSTEM"), core=False)
    records = _check_against_one_by_one(volume)
    found = [r for r in records if r.image_file and r.image_file["exists"]]
    unknown = [r for r in records if r.image_file and r.image_file["exists"] is None]
    assert found and len(unknown) > 100 and planted
    assert all(r.image_file["diagnostics"][0]["code"] == "file_not_collected" for r in unknown)  # type: ignore[index]


def test_collection_with_binaries_same_facts_as_one_by_one(tmp_path: Path) -> None:
    volume, _ = _volume(tmp_path, shared_hive("win7-SYSTEM"), core=True)
    records = _check_against_one_by_one(volume)
    assert any(r.image_file and r.image_file["exists"] is False for r in records)
    assert any(r.image_file and r.image_file["exists"] is True for r in records)


def test_absent_files_never_share_a_dict(tmp_path: Path) -> None:
    """Each absent path gets its own facts and diagnostics: a later stage changing one record's
    facts changes no other record's, nor the next hive's."""
    volume, _ = _volume(tmp_path, shared_hive("win7-SYSTEM"), core=False)
    with hivescan.open_hive(volume) as hive:
        records = hive.services()
    by_path = {r.image_path_resolved.upper(): r.image_file for r in records if r.image_path_resolved and r.image_file}
    facts = [f for f in by_path.values() if f["exists"] is None]
    assert len(facts) > 10
    assert len({id(f) for f in facts}) == len(facts)
    assert len({id(f["diagnostics"]) for f in facts}) == len({id(f["diagnostics"][0]) for f in facts}) == len(facts)
    before = json.dumps(_one_by_one(volume, "C:\\Windows\\System32\\gone.exe"), sort_keys=True)
    for f in facts:
        f["sha256"] = "changed"
        f["diagnostics"][0]["message"] = "changed"
    assert json.dumps(_one_by_one(volume, "C:\\Windows\\System32\\gone.exe"), sort_keys=True) == before


def test_attach_files_copies_records_it_did_not_build(tmp_path: Path) -> None:
    """Records handed to ``attach_files`` (not fresh from ``services``) are copied, never changed."""
    volume, _ = _volume(tmp_path, shared_hive("win7-SYSTEM"), core=False)
    with hivescan.open_hive(volume) as hive:
        analyser, hive.files = hive.files, None
        given = hive.services()
        hive.files = analyser
        filled = hive.attach_files(given)
        again = hive.services()
    assert all(r.image_file is None and r.service_dll_file is None for r in given)
    assert [r.image_file for r in filled] == [r.image_file for r in again]
    assert any(r.image_file is not None for r in filled)
    assert all(a is not b for a, b in zip(filled, given, strict=True) if a.image_file is not None)


def _reference_volume_path(windows_path: str) -> tuple[str | None, str | None]:
    """``volume_path`` as it was before its plain-path shortcut (every prefix tried on every path)."""
    text = windows_path.strip().strip('"')
    for prefix in ("\\??\\", "\\\\?\\", "\\\\.\\"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text.upper().startswith("\\SYSTEMROOT\\"):
        text = "C:\\Windows\\" + text[12:]
    if len(text) >= 3 and text[1] == ":" and text[2] == "\\":
        if text[0].upper() != "C":
            return None, f"on drive {text[0].upper()}: (only the system volume C: is read)"
        return text[3:], None
    return None, "not an absolute path on a drive"


PATH_PIECES = st.sampled_from(["\\", "\\??\\", "\\\\?\\", "\\\\.\\", "SystemRoot", "C:", "d:", '"', " ", "x", "."])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(PATH_PIECES, max_size=8), tail=st.text(max_size=6))
def test_volume_path_agrees_with_every_prefix_tried(pieces: list[str], tail: str) -> None:
    from hivescan.files.facts import volume_path

    path = "".join(pieces) + tail
    assert volume_path(path) == _reference_volume_path(path)
