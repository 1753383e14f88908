"""``--no-files`` turns off reading the service binaries, nothing else: the event logs a disk
image, a folder or a zipped collection holds are still read (``--no-evtx`` is their switch)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hivescan.cli import app
from tests.events.conftest import shared_evtx, spec_hive

runner = CliRunner()
LOGS = "Windows/System32/winevt/Logs"
CONFIG = "Windows/System32/config"
PSEXEC = "mitre-psexec-7045-7036.evtx"  # installs PSEXESVC, which the hive does not hold


def _volume_files(tmp_path: Path) -> dict[str, bytes]:
    hive = spec_hive(tmp_path / "hive", {}, computer="JUMP01").read_bytes()
    return {f"{CONFIG}/SYSTEM": hive, f"{LOGS}/System.evtx": shared_evtx(PSEXEC).read_bytes()}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hivescan.testing.disk import NtfsVolume, build_disk, missing_tools

    missing = missing_tools(("raw",))
    if missing:
        pytest.skip(f"disk-image tools not available: {', '.join(missing)}")
    pytest.importorskip("dfvfs", reason="disk images need the [images] extra")
    folder = tmp_path_factory.mktemp("hive")
    (folder / "hive").mkdir()
    files = _volume_files(folder)
    return build_disk(tmp_path_factory.mktemp("disk") / "disk.raw", [NtfsVolume(24, files)])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "hive").mkdir()
    for relative, data in _volume_files(tmp_path).items():
        path = tmp_path / "kape" / "C" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path / "kape"


@pytest.fixture
def collection(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "collection.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def _psexesvc_events(path: Path, *options: str) -> set[int]:
    result = runner.invoke(app, ["services", str(path), "-f", "jsonl", "-q", *options])
    assert result.exit_code == 0, result.output
    records = [r for r in map(json.loads, result.stdout.splitlines()) if r["name"] == "PSEXESVC"]
    return {e["event_id"] for r in records for e in r["service_events"]}


def _fired(path: Path, *options: str) -> set[tuple[str, str]]:
    result = runner.invoke(app, ["scan", str(path), "-f", "jsonl", "-q", *options])
    assert result.exit_code == 0, result.output
    return {(f["rule_id"], f["service"]) for f in map(json.loads, result.stdout.splitlines())}


def _check(path: Path) -> None:
    assert _psexesvc_events(path) == _psexesvc_events(path, "--no-files") == {7045, 7036}
    assert _psexesvc_events(path, "--no-files", "--no-evtx") == set()
    removed = ("remote-execution-service-removed", "PSEXESVC")
    assert removed in _fired(path, "--no-files")
    assert removed not in _fired(path, "--no-files", "--no-evtx")


def test_disk_image_with_no_files_still_reads_its_event_logs(image: Path) -> None:
    _check(image)


def test_folder_with_no_files_still_reads_its_event_logs(folder: Path) -> None:
    _check(folder)


def test_zip_collection_with_no_files_still_reads_its_event_logs(collection: Path) -> None:
    _check(collection)
