"""Reading hives out of disk images (hivescan.hive.images over dfvfs), on images built here."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imaging import CONFIG, require_image_tools

import hivescan
from hivescan.errors import ImageError
from hivescan.hive.images import input_kind, load_source, open_image
from hivescan.testing.disk import MIB, NtfsVolume, build_disk

ALL_FORMATS = ("raw", "split", "e01", "e01-split", "vmdk", "vmdk-stream", "vhd", "vhd-fixed", "vhdx", "qcow2")
EXPECTED_ROLES = {
    ("live", "system"),
    ("live", "system.log1"),
    ("live", "system.log2"),
    ("live", "software"),
    ("regback", "system"),
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("scheme", ["gpt", "dos"])
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_container_gives_the_planted_files_byte_for_byte(
    disk_images: Callable[..., Path], windows_files: dict[str, bytes], fmt: str, scheme: str
) -> None:
    path = disk_images(fmt, scheme)
    with open_image(path) as image:
        (inst,) = image.installations
        assert inst.volume == "p1" and inst.windows_dir == "\\Windows"
        assert {(f.snapshot, f.role) for f in inst.files} == EXPECTED_ROLES
        for f in inst.files:
            planted = windows_files[f.path.lstrip("\\").replace("\\", "/")]
            assert f.size == len(planted)
            assert image.read(f) == planted, f.path
        volume = image.volume("p1")
        assert volume.scheme == ("GPT" if scheme == "gpt" else "MBR")
        assert volume.offset == MIB and volume.size == 16 * MIB
        assert volume.filesystem == "NTFS" and volume.volume_name == "WINDOWS"


def test_multi_segment_e01_really_has_several_segments(disk_images: Callable[..., Path]) -> None:
    first = disk_images("e01-split")
    segments = sorted(first.parent.glob(first.stem + ".E*"))
    assert len(segments) >= 3, segments
    source = load_source(first)
    assert source.sha256 == sha((Path(__file__).resolve().parents[2] / "fixtures" / "demo-SYSTEM").read_bytes())


def test_split_raw_needs_every_part(disk_images: Callable[..., Path]) -> None:
    first = disk_images("split")
    assert len(list(first.parent.glob(first.stem + ".0*"))) >= 10


def test_provenance_in_location(disk_images: Callable[..., Path]) -> None:
    path = disk_images("e01")
    source = load_source(path)
    loc = source.location
    assert loc["image"] == str(path) and loc["image_format"] == "EWF"
    assert loc["partition"] == "p1" and loc["partition_scheme"] == "GPT" and loc["partition_offset"] == str(MIB)
    assert loc["filesystem"] == "NTFS" and loc["volume_name"] == "WINDOWS" and len(loc["volume_serial"]) == 16
    assert loc["path"] == "\\Windows\\System32\\config\\SYSTEM"
    assert loc["snapshot"] == "live" and loc["role"] == "system" and loc["installation"] == "1"
    assert loc["file_modified"].endswith("Z")
    assert source.path == f"{path}:p1:\\Windows\\System32\\config\\SYSTEM"
    assert source.file_path is None  # in memory: nothing was copied out of the image


def test_lookups_ignore_case_but_report_the_stored_case(tmp_path: Path, windows_files: dict[str, bytes]) -> None:
    require_image_tools()
    files = {"WINNT/system32/CONFIG/system": windows_files[f"{CONFIG}/SYSTEM"]}
    disk = build_disk(tmp_path / "case.raw", [NtfsVolume(8, files)])
    with open_image(disk) as image:
        (inst,) = image.installations
        assert inst.windows_dir == "\\WINNT"
        assert inst.file("system").path == "\\WINNT\\system32\\CONFIG\\system"  # type: ignore[union-attr]


def test_snapshot_sources_are_labelled_live_then_regback(
    disk_images: Callable[..., Path], windows_files: dict[str, bytes]
) -> None:
    with open_image(disk_images("vmdk")) as image:
        sources = image.snapshot_sources()
        logs = image.log_sources()
        software = image.snapshot_sources(role="software")
    assert [s.location["snapshot"] for s in sources] == ["live", "regback"]
    assert sources[1].data == windows_files[f"{CONFIG}/RegBack/SYSTEM"]
    assert sources[1].location["path"] == "\\Windows\\System32\\config\\RegBack\\SYSTEM"
    assert [s.location["role"] for s in logs] == ["system.log1", "system.log2"]
    assert [s.data for s in logs] == [windows_files[f"{CONFIG}/SYSTEM.LOG1"], windows_files[f"{CONFIG}/SYSTEM.LOG2"]]
    assert [s.data for s in software] == [windows_files[f"{CONFIG}/SOFTWARE"]]


def test_regback_hive_analyses_as_its_own_snapshot(disk_images: Callable[..., Path]) -> None:
    with hivescan.open_hive(disk_images("vhdx"), snapshot="regback") as hive:
        records = hive.services()
    assert {r.name for r in records} == {"Tcpip", "OldUpdater"}
    assert {r.origin.location["snapshot"] for r in records} == {"regback"}


def test_an_independent_reader_agrees(disk_images: Callable[..., Path], tmp_path: Path) -> None:
    """ntfscat (ntfs-3g) reading the partition carved from the raw disk gives hivescan's bytes."""
    raw = disk_images("raw")
    if shutil.which("ntfscat") is None:
        pytest.skip("ntfscat (Debian package ntfs-3g) not installed")
    part = tmp_path / "p1.ntfs"
    with raw.open("rb") as src:
        src.seek(MIB)
        part.write_bytes(src.read(16 * MIB))
    theirs = subprocess.run(
        ["ntfscat", "-f", str(part), "/Windows/System32/config/SYSTEM"], capture_output=True, check=True
    ).stdout
    assert load_source(raw).data == theirs


def test_nothing_is_written_to_the_image(disk_images: Callable[..., Path]) -> None:
    for fmt in ("e01", "vmdk", "vhdx", "raw"):
        path = disk_images(fmt)
        before = (sha(path.read_bytes()), path.stat().st_mtime_ns, path.stat().st_size)
        siblings = sorted(p.name for p in path.parent.iterdir())
        with open_image(path) as image:
            image.inventory()
            image.snapshot_sources()
        with hivescan.open_hive(path) as hive:
            hive.services("all")
        assert (sha(path.read_bytes()), path.stat().st_mtime_ns, path.stat().st_size) == before
        assert sorted(p.name for p in path.parent.iterdir()) == siblings


def test_inventory_hashes_every_file(disk_images: Callable[..., Path], windows_files: dict[str, bytes]) -> None:
    with open_image(disk_images("qcow2")) as image:
        inventory = image.inventory()
    assert inventory.format == "QCOW" and inventory.media_size == 18 * MIB
    (inst,) = inventory.installations
    assert inst.snapshots == ("live", "regback")
    for f in inst.files:
        assert f.sha256 == sha(windows_files[f.path.lstrip("\\").replace("\\", "/")])
    assert inventory.diagnostics == ()  # SOFTWARE.LOG1/2 and RegBack\SOFTWARE are optional: no note


def test_two_installations_need_a_choice(two_windows_disk: Path) -> None:
    with open_image(two_windows_disk) as image:
        assert [(i.number, i.volume, i.windows_dir) for i in image.installations] == [
            (1, "p1", "\\Windows"),
            (2, "p2", "\\Windows.old\\Windows"),
        ]
        with pytest.raises(ImageError, match=r"2 Windows installations; choose one with --install N: 1 = p1"):
            image.installation()
        with pytest.raises(ImageError, match="no installation 3"):
            image.installation(3)
    with hivescan.open_hive(two_windows_disk, install=2) as hive:
        assert {r.name for r in hive.services()} == {"Tcpip", "OldUpdater"}
        assert hive.source.location["path"] == "\\Windows.old\\Windows\\System32\\config\\SYSTEM"


def test_messy_disk_reports_each_volume(messy_disk: Path) -> None:
    with open_image(messy_disk) as image:
        status = {v.label: (v.status, v.filesystem) for v in image.volumes}
        assert status == {
            "p1": ("ok", "NTFS"),
            "p2": ("ok", "NTFS"),
            "p3": ("unrecognised", None),
            "p4": ("encrypted", "LUKS"),
        }
        codes = {(d.code, d.field) for d in image.diagnostics}
        assert ("volume_unrecognised", "p3") in codes and ("volume_encrypted", "p4") in codes
        assert len(image.installations) == 1
    with hivescan.open_hive(messy_disk) as hive:  # the readable Windows is still analysed
        assert hive.services()
        assert {"volume_encrypted", "volume_unrecognised"} <= {d.code for d in hive.hive_diagnostics()}


def test_no_windows_is_a_clear_error(tmp_path: Path) -> None:
    require_image_tools()
    disk = build_disk(tmp_path / "data.raw", [NtfsVolume(8, {"Users/x.txt": b"x"}, label="DATA")])
    with open_image(disk) as image:
        assert image.installations == ()
        assert [d.code for d in image.diagnostics] == ["image_no_windows"]
    with pytest.raises(ImageError, match=r"no Windows installation found \(p1 NTFS: no Windows"):
        load_source(disk)


def test_truncated_images_are_clear_errors(
    disk_images: Callable[..., Path], windows_files: dict[str, bytes], tmp_path: Path
) -> None:
    require_image_tools(("raw", "e01"))
    system = windows_files[f"{CONFIG}/SYSTEM"]
    raw = build_disk(tmp_path / "one.raw", [NtfsVolume(16, {f"{CONFIG}/SYSTEM": system})]).read_bytes()
    hive_at = raw.find(system[:4096])
    assert hive_at > MIB
    # cut inside the SYSTEM hive's clusters: the volume is readable, the hive is not
    cut = tmp_path / "cut.raw"
    cut.write_bytes(raw[: hive_at + 4096])
    with open_image(cut) as image:
        assert "partition_past_image_end" in {d.code for d in image.diagnostics}
        inventory = image.inventory()
        assert "image_file_unreadable" in {d.code for d in inventory.diagnostics}
    with pytest.raises(ImageError, match="is the image truncated"):
        load_source(cut)
    # cut soon after the boot sector: the filesystem's directories are gone
    early = tmp_path / "early.raw"
    early.write_bytes(raw[: MIB + 64 * 1024])
    with pytest.raises(ImageError, match="truncated"):
        load_source(early)
    e01 = disk_images("e01")
    cut_e01 = tmp_path / "cut.E01"
    cut_e01.write_bytes(e01.read_bytes()[: e01.stat().st_size // 2])
    with pytest.raises(ImageError, match="truncated or damaged"):
        load_source(cut_e01)


def test_input_kind(disk_images: Callable[..., Path], tmp_path: Path) -> None:
    hive = Path(__file__).resolve().parents[2] / "fixtures" / "demo-SYSTEM"
    assert input_kind(hive) == "hive"
    for fmt in ("raw", "split", "e01", "vmdk", "vmdk-stream", "vhd", "vhd-fixed", "vhdx", "qcow2"):
        assert input_kind(disk_images(fmt)) == "image", fmt
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"just text")
    assert input_kind(junk) == "other"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000))
def test_input_kind_never_raises(data: bytes) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        assert input_kind(fh.name) in ("hive", "image", "other")


def test_hive_options_rejected_for_hive_files() -> None:
    hive = Path(__file__).resolve().parents[2] / "fixtures" / "demo-SYSTEM"
    with pytest.raises(ImageError, match="apply to disk images"):
        load_source(hive, install=1)


def test_missing_snapshot_lists_the_available_ones(disk_images: Callable[..., Path]) -> None:
    with pytest.raises(ImageError, match=r"snapshot 'vss1'; available: live, regback"):
        load_source(disk_images("raw"), snapshot="vss1")


def test_real_dirty_hive_and_its_logs_come_out_whole(tmp_path: Path) -> None:
    """The real Windows 10 hive with its .LOG1/.LOG2 (12 MB + 3 MB + 3 MB) through an E01."""
    require_image_tools(("e01",))
    from imaging import shared_hive

    from hivescan.testing.disk import convert

    names = {
        "SYSTEM": "win10-dirty-SYSTEM",
        "SYSTEM.LOG1": "win10-dirty-SYSTEM.LOG1",
        "SYSTEM.LOG2": "win10-dirty-SYSTEM.LOG2",
    }
    real = {name: shared_hive(src).read_bytes() for name, src in names.items()}
    disk = build_disk(tmp_path / "win10.raw", [NtfsVolume(32, {f"{CONFIG}/{n}": b for n, b in real.items()})])
    e01 = convert(disk, "e01", tmp_path)
    with open_image(e01) as image:
        assert image.system_source().data == real["SYSTEM"]
        assert [s.data for s in image.log_sources()] == [real["SYSTEM.LOG1"], real["SYSTEM.LOG2"]]
    # files=None: the records alone (an image's records also carry the binaries' facts)
    with hivescan.open_hive(e01, files=None) as from_image, hivescan.open_hive(shared_hive(names["SYSTEM"])) as bare:
        mine, theirs = from_image.services("all"), bare.services("all")
        # the logs inside the image are replayed just like the ones next to the bare file
        assert len(mine) == len(theirs) == 656
        assert from_image.log_replay is not None and from_image.log_replay.replayed
        for a, b in zip(mine, theirs, strict=True):
            da, db = a.to_dict(), b.to_dict()
            where, there = da.pop("location"), db.pop("location")
            assert where["snapshot"] == "live" and "derived" in where and "derived" in there
            da.pop("hive_path"), db.pop("hive_path")
            assert da == db


def test_only_an_encrypted_volume(tmp_path: Path) -> None:
    require_image_tools()
    from imaging import luks1_header

    from hivescan.testing.disk import RawVolume

    disk = build_disk(tmp_path / "locked.raw", [RawVolume(4, luks1_header())])
    with pytest.raises(ImageError, match=r"no Windows installation found \(p1: encrypted LUKS\)"):
        load_source(disk)


def test_logs_inside_an_image_are_replayed(tmp_path: Path) -> None:
    """A dirty hive read out of an image has no file next to it; its logs come from the image."""
    require_image_tools()
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    files = {
        f"{CONFIG}/SYSTEM": (fixtures / "dirty-SYSTEM").read_bytes(),
        f"{CONFIG}/SYSTEM.LOG1": (fixtures / "dirty-SYSTEM.LOG1").read_bytes(),
        f"{CONFIG}/SYSTEM.LOG2": (fixtures / "dirty-SYSTEM.LOG2").read_bytes(),
    }
    disk = build_disk(tmp_path / "dirty.raw", [NtfsVolume(16, files)])
    with hivescan.open_hive(disk) as from_image, hivescan.open_hive(fixtures / "dirty-SYSTEM") as bare:
        mine = {r.name: r for r in from_image.services()}
        theirs = {r.name: r for r in bare.services()}
        assert from_image.log_replay is not None and from_image.log_replay.replayed
    assert set(mine) == set(theirs)
    assert mine["WinHelperSvc"].log_replay_changes == ("new",) and mine["WinHelperSvc"].origin.from_log
    with hivescan.open_hive(disk, logs="none") as primary_only:
        assert "WinHelperSvc" not in {r.name for r in primary_only.services()}


def test_history_of_an_image_uses_its_regback_copy(tmp_path: Path) -> None:
    """`hivescan history IMAGE`: the snapshots inside the image (live, RegBack, shadow copies)."""
    require_image_tools()
    from hivescan.snapshots import load_history

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    files = {
        f"{CONFIG}/SYSTEM": (fixtures / "history-SYSTEM").read_bytes(),
        f"{CONFIG}/RegBack/SYSTEM": (fixtures / "history-old-SYSTEM").read_bytes(),
    }
    disk = build_disk(tmp_path / "h.raw", [NtfsVolume(16, files)])
    history = load_history(disk)
    assert {s.source for s in history.snapshots} == {"hive", "regback"}
    assert ("Backdoor", "appeared") in {(e.name, e.kind) for e in history.events}
    assert {s.source for s in load_history(disk, regback=False).snapshots} == {"hive"}


def test_triage_reads_disk_images(tmp_path: Path) -> None:
    """`hivescan triage` lists every installation and snapshot of an image and scans each."""
    require_image_tools()
    import pandas as pd

    from hivescan.triage import ScanOptions, discover, run_triage, seams

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    files = {
        f"{CONFIG}/SYSTEM": (fixtures / "demo-SYSTEM").read_bytes(),
        f"{CONFIG}/RegBack/SYSTEM": (fixtures / "history-old-SYSTEM").read_bytes(),
    }
    disk = build_disk(tmp_path / "host.raw", [NtfsVolume(16, files)])
    readers = seams.container_readers()
    found = discover([disk], readers)
    assert sorted(i.member for i in found.inputs) == ["1:live", "1:regback"]
    options = ScanOptions(analyse=seams.analyser(), readers=readers)
    run_triage(found.inputs, tmp_path / "out", options=options)
    hives = pd.read_parquet(tmp_path / "out" / "hives")
    assert set(hives["status"]) == {"ok"} and set(hives["member"]) == {"1:live", "1:regback"}
    findings = pd.read_parquet(tmp_path / "out" / "findings")
    assert "PSEXESVC" in set(findings["service"])
