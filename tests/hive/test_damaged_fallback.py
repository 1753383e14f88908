"""A hive whose many keys fall back to the parser libraries stays fast and small (issue 11).

Truncating win7-SYSTEM at 1.9 MB leaves hundreds of service keys whose subkey lists are
past the end: each falls back to the libraries, which looked the key up from the root every
time and listed the Services key (about 460 subkeys) hundreds of times -- 18 s, and more than
400 MB the paused collector could not free (exit 70 under that cap). Each library listing
is now made once per hive.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_capped, shared_hive

MEMORY_LIMIT = 400 << 20  # the fixed reader needs well under half of this


def test_truncated_real_hive_reads_in_bounded_memory(tmp_path: Path) -> None:
    data = shared_hive("win7-SYSTEM").read_bytes()[:1961802]
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(data)
    done = run_capped("hivescan", "services", str(hive), "-c", "all", "-f", "jsonl", timeout=120, memory=MEMORY_LIMIT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.splitlines()) == 933  # every readable record of both control sets
    assert "subkey_list_incomplete" in done.stderr and "hive_truncated" in done.stderr
