"""Fuzz the compiled service-key walk (hivescan/scm/_keywalk.c) under ASan and UBSan.

    gcc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -shared -fPIC \\
        -I"$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \\
        hivescan/scm/_keywalk.c -o /tmp/kw-asan/_keywalk$(python3-config --extension-suffix)
    ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \\
        python bench/keywalk_fuzz.py /tmp/kw-asan SECONDS [SEED] [HIVE ...]

Imports ``_keywalk`` from the given folder (the sanitized build), takes every service key the
walk accepts intact in built hives (lh and ri lists) and in the given hives, and for SECONDS
calls the walk on copies damaged inside that key's cells (bytes set or flipped, 32-bit fields
set to sizes, offsets and counts that matter, images cut short inside a cell), at the key's
offset or at odd ones, with every value cap. A sanitizer report aborts the run; else it prints
the count of cases and how many the walk accepted. The walked bytes of every accepted case are
read back by ``read_walked`` (the compiled reader of the walk's canonical bytes), as they are
and damaged (bytes set or flipped, cut short, lengths and counts set large). Hivescan's own
correctness against the Python path is tested in tests/scm/test_keywalk.py; this is about
memory safety.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import sys
import time
from pathlib import Path

from hivescan.hive.cells import NO_OFFSET
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader
from hivescan.testing.fuzz import service_key_cells
from hivescan.testing.regf import HiveWriter, WKey


def _load(folder: str) -> object:
    path = next(Path(folder).glob("_keywalk*.so"))
    spec = importlib.util.spec_from_file_location("_keywalk", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _built(kind: str) -> bytes:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1)
    for n in range(8):
        key = root.key(f"ControlSet001\\Services\\Svc{n}")
        key.set_dword("Type", 0x20).set_dword("Start", 2).set_dword("ErrorControl", 1)
        key.set_expand_sz("ImagePath", "%SystemRoot%\\system32\\svchost.exe -k netsvcs")
        key.set("Empty", 1, b"").set_binary("Long", bytes(range(256)) * 4)
        key.key("Parameters").set_expand_sz("ServiceDll", f"%SystemRoot%\\system32\\svc{n}.dll")
        key.key("Security").set_binary("Security", bytes(20))
        for t in range(n % 3):
            key.key(f"TriggerInfo\\{t}").set_dword("Type", 1).set_binary("GUID", bytes(16))
    return HiveWriter(root, subkey_list=kind, ri_leaf_size=2).build().data


def _read_back(read: object, content: bytes, rng: random.Random) -> None:
    """The compiled reader on the walk's bytes, then on a damaged copy: an answer or a ValueError."""
    from hivescan.hive.model import RawValue
    from hivescan.hive.tree import upcase
    from hivescan.scm.keywalk import _VALUE_TAIL

    damaged = bytearray(content)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(damaged))
        if rng.random() < 0.5:
            damaged[at] = rng.randrange(256)
        else:
            damaged[at : at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x80", rng.randbytes(4)])
    if rng.random() < 0.3:
        damaged = damaged[: rng.randrange(len(damaged))]
    for text in (content, bytes(damaged)):
        with contextlib.suppress(ValueError):
            read(text, RawValue, _VALUE_TAIL, upcase)  # type: ignore[operator]


def main(argv: list[str]) -> int:
    module = _load(argv[0])
    walk = module.walk_service  # type: ignore[attr-defined]
    read = module.read_walked  # type: ignore[attr-defined]
    budget = float(argv[1]) if len(argv) > 1 else 60.0
    rng = random.Random(int(argv[2]) if len(argv) > 2 else 1)
    bases = [("built-lh", _built("lh")), ("built-ri", _built("ri"))]
    bases += [(p, Path(p).read_bytes()) for p in argv[3:]]
    plan = []
    for name, data in bases:
        with HiveReader(HiveSource.from_bytes(data)) as reader:
            services = reader.key("ControlSet001\\Services")
            offsets = [k.cell_offset for k in services.subkeys()] if services is not None else []
        ranges = {off: service_key_cells(data, off) for off in offsets if off is not None and walk(data, off, 16344)}
        plan.append((data, ranges))
        print(f"{name}: {len(offsets)} service keys, {len(ranges)} walked intact", flush=True)
    cases = accepted = 0
    stop = time.process_time() + budget
    while time.process_time() < stop:
        data, ranges = rng.choice(plan)
        offset = rng.choice(list(ranges))
        image = bytearray(data)
        cells = ranges[offset]
        for _ in range(rng.randint(1, 8)):
            start, end = rng.choice(cells)
            at = rng.randrange(start, end)
            pick = rng.random()
            if pick < 0.5:
                image[at] = rng.randrange(256)
            elif pick < 0.8:
                image[at] ^= 1 << rng.randrange(8)
            else:  # a 32-bit field: a size, an offset, a count
                at -= at % 4
                image[at : at + 4] = rng.choice(
                    [b"\xff\xff\xff\xff", b"\x00\x00\x00\x80", b"\xf8\xff\xff\xff", bytes(4), rng.randbytes(4)]
                )
        if rng.random() < 0.2:  # cut short inside one of the key's cells
            start, end = rng.choice(cells)
            image = image[: rng.randrange(start, end)]
        at = offset
        if rng.random() < 0.1:
            at = rng.choice([max(0, offset + rng.randrange(-64, 64)), rng.randrange(1 << 32), NO_OFFSET])
        most = rng.choice([16344, 16344, 0, 4, 1 << 20, 0xFFFFFFFF])
        walked = walk(bytes(image) if rng.random() < 0.5 else image, at, most)
        if walked is not None:
            accepted += 1
            _read_back(read, walked[0], rng)
        cases += 1
    print(f"cases {cases}, accepted {accepted}, no sanitizer report")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
