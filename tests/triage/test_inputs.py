"""Discovery: hives found by signature in nested folders, logs attached, the rest ignored with a reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from hivescan.hive.source import HiveSource
from hivescan.testing.regf import HiveWriter, WKey
from hivescan.triage import HiveInput, ScanOptions, discover, scan_batch
from tests.triage.conftest import write_host


def _log_like(path: Path, primary: bytes) -> Path:
    """A transaction log: a regf base block of file type 6 (new format), then log entries."""
    base = bytearray(primary[:4096])
    base[28:32] = (6).to_bytes(4, "little")
    path.write_bytes(bytes(base) + b"HvLE" + bytes(508))
    return path


def test_nested_folders_logs_and_non_hives(tmp_path: Path) -> None:
    a = write_host(tmp_path / "case" / "HOST-A" / "SYSTEM", "HOST-A")
    b = write_host(tmp_path / "case" / "deep" / "er" / "HOST-B" / "system", "HOST-B", seed=2)
    _log_like(a.with_name("SYSTEM.LOG1"), a.read_bytes())
    _log_like(a.with_name("system.log2"), a.read_bytes())  # names compared case-insensitively
    (tmp_path / "case" / "HOST-A" / "notes.txt").write_text("not a hive")
    (tmp_path / "case" / "empty.bin").write_bytes(b"")
    orphan = _log_like(tmp_path / "case" / "deep" / "OTHER.LOG1", a.read_bytes())

    found = discover([tmp_path / "case"])

    assert [i.path for i in found.inputs] == sorted([str(a), str(b)])
    by_path = {i.path: i for i in found.inputs}
    assert sorted(Path(p).name for p in by_path[str(a)].logs) == ["SYSTEM.LOG1", "system.log2"]
    assert by_path[str(b)].logs == ()
    reasons = {Path(i.path).name: i.reason for i in found.ignored}
    assert reasons == {
        "notes.txt": "not a registry hive (no regf signature)",
        "empty.bin": "an empty file",
        "OTHER.LOG1": "a transaction log without its primary hive in this folder",
    }
    assert str(orphan) not in by_path


def test_same_file_given_twice_is_one_input(tmp_path: Path) -> None:
    hive = write_host(tmp_path / "h" / "SYSTEM", "H")
    found = discover([hive, tmp_path / "h", tmp_path / "h" / "." / "SYSTEM"])
    assert [i.path for i in found.inputs] == [str(hive)]


def test_explicit_inputs_always_get_a_row(tmp_path: Path) -> None:
    hive = write_host(tmp_path / "SYSTEM", "HOST-A")
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    log = _log_like(tmp_path / "SYSTEM.LOG1", hive.read_bytes())
    image = tmp_path / "disk.E01"
    image.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + bytes(100))
    user = tmp_path / "NTUSER.DAT"
    root = WKey("ROOT")
    for name in ("Environment", "Console", "Control Panel", "Keyboard Layout", "Software"):
        root.key(name)
    user.write_bytes(HiveWriter(root, file_name=r"\??\C:\Users\bob\ntuser.dat").build().data)
    missing = tmp_path / "gone" / "SYSTEM"

    found = discover([hive, text, log, image, user, missing])
    kinds = {i.path: i.kind for i in found.inputs}
    assert kinds == {
        str(hive): "hive",
        str(text): "other",
        str(log): "log",
        str(image): "image",
        str(user): "hive",
        str(missing): "hive",  # its row says why it was not read
    }
    assert not found.ignored

    hives = scan_batch(found.inputs).hives.set_index("path")
    row = lambda p: hives.loc[str(p)]  # noqa: E731
    assert row(hive)["status"] == "ok" and row(hive)["host"] == "HOST-A"
    assert (row(text)["status"], row(text)["error_code"]) == ("error", "not_a_hive")
    assert (row(log)["status"], row(log)["error_code"]) == ("skipped", "transaction_log_input")
    assert (row(image)["status"], row(image)["error_code"]) == ("error", "image_unsupported")
    assert (row(user)["status"], row(user)["error_code"]) == ("skipped", "not_system_hive")
    assert "user hive (NTUSER.DAT)" in row(user)["error_message"]
    assert row(user)["sha256"] and row(user)["records"] == 0
    assert (row(missing)["status"], row(missing)["error_code"]) == ("error", "input_unreadable")
    assert pd.isna(row(missing)["sha256"])


class ZipReader:
    """A container reader over zip archives: the shape the disk-image feature plugs in with."""

    name = "zip"

    def claims(self, path: Path, head: bytes) -> bool:
        return head[:4] == b"PK\x03\x04"

    def list_hives(self, path: Path) -> list[HiveInput]:
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.upper().endswith("CONFIG/SYSTEM")]
        return [HiveInput(str(path), member=m, kind=self.name) for m in members]

    def open(self, item: HiveInput) -> HiveSource:
        with zipfile.ZipFile(item.path) as archive:
            data = archive.read(item.member)
        return HiveSource.from_bytes(data, path=item.label, location={"container": item.path, "member": item.member})


def test_container_hook_lists_and_opens_hives_inside(tmp_path: Path) -> None:
    hive = write_host(tmp_path / "src" / "SYSTEM", "IMG-HOST")
    archive = tmp_path / "evidence" / "collection.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as out:
        out.write(hive, "Windows/System32/config/SYSTEM")
        out.write(hive, "Windows/System32/config/RegBack/notes.txt")

    found = discover([tmp_path / "evidence"], readers=[ZipReader()])
    assert found.inputs == [HiveInput(str(archive), "Windows/System32/config/SYSTEM", "zip")]

    frames = scan_batch(found.inputs, options=ScanOptions(readers=(ZipReader(),)))
    (row,) = frames.hives.to_dict("records")
    assert (row["status"], row["host"], row["member"]) == ("ok", "IMG-HOST", "Windows/System32/config/SYSTEM")
    assert set(frames.services["hive_path"]) == {f"{archive}!Windows/System32/config/SYSTEM"}
    assert '"member": "Windows/System32/config/SYSTEM"' in frames.services["location"].iloc[0]


def test_user_hives_in_folders_are_scanned_and_skipped_with_the_reason(tmp_path: Path) -> None:
    system = write_host(tmp_path / "C" / "Windows" / "System32" / "config" / "SYSTEM", "HOST-A")
    root = WKey("ROOT")
    for name in ("AppEvents", "Console", "Control Panel", "Environment", "Keyboard Layout", "Software"):
        root.key(name)
    user = tmp_path / "C" / "Users" / "bob" / "NTUSER.DAT"
    user.parent.mkdir(parents=True)
    user.write_bytes(HiveWriter(root, file_name=r"\??\C:\Users\bob\ntuser.dat").build().data)

    found = discover([tmp_path / "C"])
    assert [i.path for i in found.inputs] == sorted([str(system), str(user)])
    hives = scan_batch(found.inputs).hives.set_index("path")
    assert hives.loc[str(system), "status"] == "ok"
    skipped = hives.loc[str(user)]
    assert (skipped["status"], skipped["error_code"]) == ("skipped", "not_system_hive")
    assert "this is a user hive (NTUSER.DAT), not a SYSTEM hive" in skipped["error_message"]


def test_pipes_are_never_read(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "case"
    hive = write_host(folder / "SYSTEM", "HOST-A")
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    found = discover([folder, fifo])  # would block forever if either read the pipe
    assert [(i.path, i.kind) for i in found.inputs] == [(str(hive), "hive"), (str(fifo), "special")]
    assert [i.reason for i in found.ignored] == []  # the pipe is an explicit input, listed once
    only_folder = discover([folder])
    assert [i.reason for i in only_folder.ignored] == [
        "not a regular file: a named pipe (FIFO); never read (it could block)"
    ]
    hives = scan_batch(found.inputs).hives.set_index("path")
    assert hives.loc[str(fifo), "error_code"] == "input_unreadable"
    assert "not a regular file" in hives.loc[str(fifo), "error_message"]


def test_a_container_reader_error_is_an_image_row(tmp_path: Path) -> None:
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("readme.txt", "no hive here")
    item = HiveInput(str(archive), "Windows/System32/config/SYSTEM", "zip")
    (row,) = scan_batch([item], options=ScanOptions(readers=(ZipReader(),))).hives.to_dict("records")
    assert (row["status"], row["error_code"]) == ("error", "image_unreadable")
    assert "KeyError" in row["error_message"] and "Windows/System32/config/SYSTEM" in row["error_message"]


def test_every_file_met_and_not_scanned_is_listed_with_what_it_is(tmp_path: Path) -> None:
    """Issue 11 defect 8: links to folders, link cycles and second names of a file were skipped unnamed."""
    import os

    folder = tmp_path / "case"
    hive = write_host(folder / "HOST-A" / "SYSTEM", "HOST-A")
    (folder / "loop").symlink_to("loop")  # a link to itself
    (folder / "dangling").symlink_to(folder / "nowhere")
    (folder / "up").symlink_to(folder)  # a link to an ancestor folder: a cycle if followed
    (folder / "again").symlink_to(hive)  # the hive under a second name
    os.mkfifo(folder / "pipe")
    found = discover([folder])
    link = folder / "again"
    assert [i.path for i in found.inputs] == [str(link)]  # met first (files before subfolders)
    reasons = {Path(i.path).name: i.reason for i in found.ignored}
    assert reasons["up"] == "a symbolic link to a folder: not followed (it could loop)"
    assert reasons["loop"].startswith("a symbolic link that cannot be followed")
    assert reasons["dangling"].startswith("a symbolic link that cannot be followed")
    assert reasons["pipe"].startswith("not a regular file: a named pipe")
    assert reasons["SYSTEM"] == f"the same file as {link}, already met"
    assert set(reasons) == {"up", "loop", "dangling", "pipe", "SYSTEM"}
