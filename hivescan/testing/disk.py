"""Build small disk images holding hives, at test time, with Debian's own tools.

Why it exists: analysts start from acquired disk images (E01, VMDK, VHD(X), QCOW2, raw),
and hivescan's image reader must be tested on real containers, partition tables and NTFS
volumes -- without downloading images or committing binaries. A disk of a few MiB builds in
about a second:

1. ``sfdisk`` writes a GPT or MBR partition table into a sparse file;
2. each NTFS partition is made in its own file by ``mkntfs``, directories are created with
   libntfs-3g (:mod:`hivescan.testing.ntfs3g`), files copied in with ``ntfscp``, and the
   volume is placed at its partition's offset; other partitions get the bytes given
   (zeros, random data, an encrypted-volume header...);
3. :func:`convert` turns the raw disk into E01 (``ewfacquire``, also split into segments),
   VMDK, VHD, VHDX, QCOW2 (``qemu-img``) or a split raw set.

Needs the Debian packages fdisk, ntfs-3g, ewf-tools and qemu-utils (:func:`missing_tools`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hivescan.testing.ntfs3g import libntfs3g_available, make_directories

MIB = 1 << 20
SECTOR = 512
GPT_BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
GPT_LINUX_DATA = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
MBR_NTFS = "7"
MBR_LINUX = "83"

# tool -> Debian package
TOOLS = {
    "sfdisk": "fdisk",
    "mkntfs": "ntfs-3g",
    "ntfscp": "ntfs-3g",
    "ewfacquire": "ewf-tools",
    "qemu-img": "qemu-utils",
}

FORMATS = ("raw", "split", "e01", "e01-split", "vmdk", "vmdk-stream", "vhd", "vhd-fixed", "vhdx", "qcow2")


def missing_tools(formats: Sequence[str] = FORMATS) -> list[str]:
    """The tools (with their Debian package) needed for ``formats`` that are not installed."""
    need = {"sfdisk", "mkntfs", "ntfscp"}
    if any(f.startswith("e01") for f in formats):
        need.add("ewfacquire")
    if any(f.startswith(("vmdk", "vhd", "qcow")) for f in formats):
        need.add("qemu-img")
    out = [f"{tool} (Debian package {TOOLS[tool]})" for tool in sorted(need) if shutil.which(tool) is None]
    if not libntfs3g_available():
        out.append("libntfs-3g (Debian package ntfs-3g)")
    return out


class DiskBuildError(RuntimeError):
    """A tool failed while building a test image."""


@dataclass(frozen=True)
class Snapshot:
    """A Volume Shadow Copy: older content of some files (same sizes as now), taken at ``created``."""

    created: str  # ISO 8601 UTC
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class NtfsVolume:
    """An NTFS partition: files by path (``/`` separated, from the volume root) and empty directories.

    A name ``path:stream`` is written as an alternate data stream of ``path``.

    ``snapshots`` (oldest first) become Volume Shadow Copies (:mod:`hivescan.testing.vss`);
    leave a few MiB of the volume free for them.
    """

    size_mib: int
    files: Mapping[str, bytes] = field(default_factory=dict)
    directories: Sequence[str] = ()
    label: str = "WINDOWS"
    snapshots: Sequence[Snapshot] = ()


@dataclass(frozen=True)
class RawVolume:
    """A partition whose bytes are given as they are (the rest is zeros)."""

    size_mib: int
    data: bytes = b""
    mbr_type: str = MBR_LINUX
    gpt_type: str = GPT_LINUX_DATA


Volume = NtfsVolume | RawVolume


def _run(*args: str | Path) -> str:
    try:
        done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiskBuildError(f"{args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise DiskBuildError(f"{' '.join(map(str, args))}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def build_disk(path: str | Path, volumes: Sequence[Volume], scheme: str = "gpt") -> Path:
    """Write a raw disk image with one partition per volume; ``scheme``: ``gpt`` or ``dos`` (MBR)."""
    if scheme not in ("gpt", "dos"):
        raise ValueError("scheme: gpt or dos")
    if scheme == "dos" and len(volumes) > 4:
        raise ValueError("an MBR (dos) disk built here holds at most 4 primary partitions")
    path = Path(path)
    total = 1 + sum(v.size_mib for v in volumes) + 1  # 1 MiB before the first partition, 1 MiB for GPT's backup
    with path.open("wb") as fh:
        fh.truncate(total * MIB)
    lines = [f"label: {scheme}"]
    for volume in volumes:
        if scheme == "gpt":
            kind = GPT_BASIC_DATA if isinstance(volume, NtfsVolume) else volume.gpt_type
        else:
            kind = MBR_NTFS if isinstance(volume, NtfsVolume) else volume.mbr_type
        lines.append(f"size={volume.size_mib}MiB, type={kind}")
    subprocess_input = "\n".join(lines) + "\n"
    done = subprocess.run(
        ["sfdisk", "-q", str(path)], input=subprocess_input, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise DiskBuildError(f"sfdisk: {done.stderr.strip()}")
    table = json.loads(_run("sfdisk", "-J", path))["partitiontable"]["partitions"]
    with tempfile.TemporaryDirectory(prefix="hivescan-disk-") as tmp:
        for volume, part in zip(volumes, table, strict=True):
            start, sectors = int(part["start"]), int(part["size"])
            if isinstance(volume, NtfsVolume):
                content = Path(tmp) / "part.ntfs"
                _build_ntfs(content, volume, start, sectors, Path(tmp))
                _place(path, content, start * SECTOR)
                content.unlink()
            elif volume.data:
                if len(volume.data) > sectors * SECTOR:
                    raise ValueError("RawVolume.data is larger than its partition")
                with path.open("r+b") as fh:
                    fh.seek(start * SECTOR)
                    fh.write(volume.data)
    return path


def _build_ntfs(out: Path, volume: NtfsVolume, start: int, sectors: int, tmp: Path) -> None:
    with out.open("wb") as fh:
        fh.truncate(sectors * SECTOR)
    _run(
        "mkntfs",
        "-q",
        "-F",
        "-Q",
        "-s",
        str(SECTOR),
        "-p",
        str(start),
        "-H",
        "255",
        "-S",
        "63",
        "-L",
        volume.label,
        out,
    )
    directories = list(volume.directories)
    for name in volume.files:
        name = name.split(":", 1)[0]  # "path:stream" names an alternate data stream of path
        parent = name.strip("/").rsplit("/", 1)[0] if "/" in name.strip("/") else ""
        if parent:
            directories.append(parent)
    if directories:
        make_directories(out, sorted(set(directories), key=lambda d: d.count("/")))
    for name, data in sorted(volume.files.items(), key=lambda item: ":" in item[0]):  # files before their streams
        local = tmp / "file.bin"
        local.write_bytes(data)
        path, _, stream = name.partition(":")
        if stream:
            _run("ntfscp", "-q", "-f", "-N", stream, out, local, "/" + path.strip("/"))
        else:
            _run("ntfscp", "-q", "-f", out, local, "/" + name.strip("/"))
        local.unlink()
    if volume.snapshots:
        _add_snapshots(out, volume)


def _add_snapshots(out: Path, volume: NtfsVolume) -> None:
    """Turn each Snapshot into a shadow copy: locate each file's clusters, record the old bytes."""
    from hivescan.testing.regf import filetime
    from hivescan.testing.vss import ShadowCopy, write_shadow_copies

    content = bytearray(out.read_bytes())
    copies = []
    for snapshot in volume.snapshots:
        old: dict[int, bytes] = {}
        for name, data in snapshot.files.items():
            now = volume.files[name]
            if len(now) != len(data):
                raise ValueError(f"{name}: a snapshot's content must have the current size ({len(now)} bytes)")
            at = content.find(now)
            if at < 0 or content.find(now, at + 1) >= 0 or at % 4096:
                raise DiskBuildError(f"{name}: not found as one contiguous, unique, cluster-aligned run")
            old[at] = data
        copies.append(ShadowCopy(filetime(snapshot.created), old))
    write_shadow_copies(content, copies)
    out.write_bytes(content)


def _place(disk: Path, content: Path, offset: int) -> None:
    """Copy ``content`` into ``disk`` at ``offset``, leaving runs of zeros as holes."""
    chunk = MIB
    with disk.open("r+b") as dst, content.open("rb") as src:
        pos = 0
        while block := src.read(chunk):
            if block.count(0) != len(block):
                dst.seek(offset + pos)
                dst.write(block)
            pos += len(block)


def convert(raw: str | Path, fmt: str, out_dir: str | Path | None = None, segment_mib: int = 1) -> Path:
    """The raw disk in another container; returns the path to open (the first segment of a set).

    ``fmt``: raw, split (``.001``...), e01, e01-split (segments of ``segment_mib``), vmdk,
    vmdk-stream (streamOptimized), vhd (dynamic), vhd-fixed, vhdx, qcow2.
    """
    raw = Path(raw)
    out = Path(out_dir) if out_dir is not None else raw.parent
    out.mkdir(parents=True, exist_ok=True)
    stem = raw.stem
    if fmt == "raw":
        return raw
    if fmt == "split":
        with raw.open("rb") as src:
            index = 1
            while block := src.read(segment_mib * MIB):
                (out / f"{stem}.{index:03d}").write_bytes(block)
                index += 1
        return out / f"{stem}.001"
    if fmt in ("e01", "e01-split"):
        target = out / (stem if fmt == "e01" else f"{stem}-seg")
        args: list[str | Path] = ["ewfacquire", "-q", "-u", "-c", "deflate:fast", "-f", "encase6"]
        args += ["-C", "case-1", "-D", "hivescan test image", "-e", "hivescan", "-E", "1", "-N", "none"]
        if fmt == "e01-split":
            args += ["-S", f"{segment_mib}MiB"]
        _run(*args, "-t", target, raw)
        return target.with_suffix(".E01")
    qemu = {
        "vmdk": ("vmdk", [], "vmdk"),
        "vmdk-stream": ("vmdk", ["-o", "subformat=streamOptimized"], "stream.vmdk"),
        "vhd": ("vpc", [], "vhd"),
        "vhd-fixed": ("vpc", ["-o", "subformat=fixed"], "fixed.vhd"),
        "vhdx": ("vhdx", [], "vhdx"),
        "qcow2": ("qcow2", [], "qcow2"),
    }
    if fmt not in qemu:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    driver, options, suffix = qemu[fmt]
    target = out / f"{stem}.{suffix}"
    _run("qemu-img", "convert", "-f", "raw", "-O", driver, *options, raw, target)
    return target
