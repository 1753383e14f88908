"""The command line on disk images: services/info/images, choice of installation, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from imaging import CONFIG
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("fmt", ["e01", "vmdk", "vhdx", "e01-split", "qcow2", "split", "vhd"])
def test_services_from_an_image_equal_the_bare_hive_plus_provenance(
    disk_images: Callable[..., Path], windows_files: dict[str, bytes], tmp_path: Path, fmt: str
) -> None:
    bare = tmp_path / "SYSTEM"
    bare.write_bytes(windows_files[f"{CONFIG}/SYSTEM"])
    image = disk_images(fmt)
    code, out, err = run("services", image, "--format", "jsonl", "--control-set", "all")
    assert code == 0, err
    code_bare, out_bare, _ = run("services", bare, "--format", "jsonl", "--control-set", "all")
    assert code_bare == 0
    from_image, from_bare = jsonl(out), jsonl(out_bare)
    assert len(from_image) == len(from_bare) > 30
    for mine, theirs in zip(from_image, from_bare, strict=True):
        assert set(mine) == set(theirs) | {"location"}
        for key in theirs:
            if key in ("hive_path", "image_file", "service_dll_file"):  # an image holds the files; a bare hive not
                continue
            assert mine[key] == theirs[key], (mine["name"], key)
        assert theirs["image_file"] is None and theirs["service_dll_file"] is None
        assert mine["hive_path"] == f"{image}:p1:\\Windows\\System32\\config\\SYSTEM"
        location = mine["location"]
        assert isinstance(location, dict)
        assert location["image"] == str(image) and location["partition"] == "p1"
        assert location["path"] == "\\Windows\\System32\\config\\SYSTEM" and location["snapshot"] == "live"
    assert err == ""  # a clean image: no warnings


def test_images_command_lists_everything_with_hashes(
    disk_images: Callable[..., Path], windows_files: dict[str, bytes]
) -> None:
    image = disk_images("e01")
    code, out, err = run("images", image, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["format"] == "EWF" and data["image"] == str(image)
    assert [v["label"] for v in data["volumes"]] == ["p1"]
    (inst,) = data["installations"]
    assert inst["snapshots"] == ["live", "regback"]
    hashes = {f["path"]: f["sha256"] for f in inst["files"]}
    for path, sha in hashes.items():
        assert sha == hashlib.sha256(windows_files[path.lstrip("\\").replace("\\", "/")]).hexdigest()
    code, out, _ = run("images", image)
    assert code == 0
    assert "installation 1" in out and "regback" in out and "EWF" in out


def test_info_on_an_image_shows_the_location(disk_images: Callable[..., Path]) -> None:
    code, out, err = run("info", disk_images("vmdk"), "--format", "json", "--snapshot", "regback")
    assert code == 0, err
    data = json.loads(out)
    assert data["location"]["snapshot"] == "regback"
    assert data["location"]["path"] == "\\Windows\\System32\\config\\RegBack\\SYSTEM"
    assert data["select"]["Current"] == 1


def test_several_installations_need_install(two_windows_disk: Path) -> None:
    code, out, err = run("services", two_windows_disk)
    assert code == ExitCode.IMAGE_ERROR and out == ""
    assert "2 Windows installations; choose one with --install N" in err
    assert "1 = p1 \\Windows; 2 = p2 \\Windows.old\\Windows" in err
    code, out, err = run("services", two_windows_disk, "--install", "2", "-f", "jsonl")
    assert code == 0, err
    assert {r["name"] for r in jsonl(out)} == {"Tcpip", "OldUpdater"}
    code, _, err = run("images", two_windows_disk, "-f", "json")
    assert code == 0 and len(json.loads(_)["installations"]) == 2


def test_clear_messages_for_bad_images(messy_disk: Path, tmp_path: Path, disk_images: Callable[..., Path]) -> None:
    code, out, err = run("services", messy_disk, "-f", "jsonl")
    assert code == 0 and out
    assert "warning: volume_encrypted: p4: LUKS encrypted volume" in err
    assert "warning: volume_unrecognised: p3" in err

    cut = tmp_path / "cut.E01"
    e01 = disk_images("e01").read_bytes()
    cut.write_bytes(e01[: len(e01) // 3])
    code, out, err = run("services", cut)
    assert code == ExitCode.IMAGE_ERROR and out == ""
    assert err.startswith("hivescan: error: ") and "truncated or damaged" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_no_windows(tmp_path: Path) -> None:
    from imaging import require_image_tools

    from hivescan.testing.disk import NtfsVolume, build_disk

    require_image_tools()
    disk = build_disk(tmp_path / "data.raw", [NtfsVolume(8, {"Users/readme.txt": b"x"}, label="DATA")])
    code, _, err = run("services", disk)
    assert code == ExitCode.IMAGE_ERROR
    assert "no Windows installation found (p1 NTFS: no Windows\\System32\\config\\SYSTEM)" in err
    code, out, err = run("images", disk)
    assert code == ExitCode.IMAGE_ERROR and "p1" in out  # the inventory is still shown
    assert "image_no_windows" in err


def test_without_the_images_extra_the_message_says_how_to_install(disk_images: Callable[..., Path]) -> None:
    """dfvfs made unimportable in a child process: a one-line error naming the extra, exit 8."""
    image = disk_images("e01")
    code = (
        "import sys; sys.modules['dfvfs'] = None\n"
        "from hivescan.cli import main\n"
        f"sys.argv = ['hivescan', 'services', {str(image)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "HIVESCAN_DEBUG": ""}
    )
    assert done.returncode == ExitCode.IMAGE_ERROR
    assert done.stdout == ""
    assert "a disk image (EWF (E01)); reading disk images needs the optional extra: pip install 'hivescan[images]'" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


def test_hive_files_still_work_and_reject_image_options(tmp_path: Path) -> None:
    demo = ROOT / "fixtures" / "demo-SYSTEM"
    code, out, _ = run("services", demo, "-f", "jsonl")
    assert code == 0 and all("location" not in r for r in jsonl(out))
    code, _, err = run("services", demo, "--install", "1")
    assert code == ExitCode.IMAGE_ERROR and "apply to disk images" in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello, not a hive")
    code, _, err = run("services", junk)
    assert code == ExitCode.NOT_A_HIVE
    code, _, err = run("images", demo)
    assert code == ExitCode.IMAGE_ERROR and "a registry hive file, not a disk image" in err
