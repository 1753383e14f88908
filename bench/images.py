"""Disk-image reading speed: scan time, and MiB/s reading a file out of each container.

Builds a GPT disk with one NTFS partition holding a 64 MiB file (random, or compressible
text-like bytes) plus the demo SYSTEM hive, converts it to each container, and times:

* ``open_image`` (dfvfs scan + finding Windows), best of 3;
* reading the 64 MiB file through hivescan's reader (MiB/s, best of 3, page cache warm);
* ``open_hive(image).services()`` end to end vs the bare hive.

Run: ``python bench/images.py [--size-mib 64]`` (needs the Debian tools and hivescan[images]).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import hivescan
from hivescan.hive.images import ImageFile, open_image
from hivescan.testing.disk import NtfsVolume, build_disk, convert, missing_tools

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("raw", "e01", "vmdk", "vhdx", "qcow2")


def best(func, runs: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=64)
    args = parser.parse_args()
    if missing_tools(FORMATS):
        raise SystemExit(f"missing: {', '.join(missing_tools(FORMATS))}")
    size = args.size_mib << 20
    rng = random.Random(1)
    payloads = {
        "random": rng.randbytes(size),
        "compressible": (b"hivescan benchmark: compressible text and zeros\r\n" + bytes(15)) * (size // 64),
    }
    system = (ROOT / "fixtures" / "demo-SYSTEM").read_bytes()
    with tempfile.TemporaryDirectory(prefix="hivescan-bench-") as tmp:
        bare = Path(tmp) / "SYSTEM"
        bare.write_bytes(system)
        t_bare = best(lambda: hivescan.open_hive(bare).services("all"))
        print(f"bare hive services(): {t_bare * 1000:.1f} ms")
        print(
            f"{'content':<13} {'format':<6} {'image MiB':>9} {'build s':>8} {'scan ms':>8} "
            f"{'read MiB/s':>10} {'services ms':>11}"
        )
        for content, payload in payloads.items():
            files = {"Windows/System32/config/SYSTEM": system, "data/big.bin": payload}
            start = time.perf_counter()
            raw = build_disk(Path(tmp) / f"{content}.raw", [NtfsVolume(args.size_mib + 32, files)])
            built = time.perf_counter() - start
            for fmt in FORMATS:
                start = time.perf_counter()
                path = convert(raw, fmt, Path(tmp) / f"{content}-{fmt}")
                conv = time.perf_counter() - start
                parts = [path] if fmt == "raw" else list(path.parent.iterdir())
                on_disk = sum(p.stat().st_size for p in parts) / (1 << 20)
                t_scan = best(lambda p=path: open_image(p).close())
                with open_image(path) as image:
                    big = ImageFile(1, "bench", "live", "p1", "\\data\\big.bin", size)
                    assert image.read(big) == payload
                    t_read = best(lambda im=image, f=big: im.read(f))
                t_services = best(lambda p=path: hivescan.open_hive(p).services("all"))
                print(
                    f"{content:<13} {fmt:<6} {on_disk:>9.1f} {built + conv:>8.2f} {t_scan * 1000:>8.0f} "
                    f"{size / (1 << 20) / t_read:>10.0f} {t_services * 1000:>11.0f}"
                )


if __name__ == "__main__":
    main()
