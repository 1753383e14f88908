"""The memo of decoded service keys belongs to the triage worker, not to the library.

Why: ``hivescan.open_hive`` is also the notebook API; a cache shared implicitly between
calls would be hidden state. A worker owns one memo (``worker_record_memo``) and passes it
in; a plain ``open_hive`` decodes every key afresh.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import hivescan
from hivescan.scm.services import RecordMemo
from hivescan.triage.inputs import HiveInput
from hivescan.triage.scan import ScanOptions, scan_chunk, worker_record_memo
from tests.conftest import FIXTURES


def _two_hosts(tmp_path: Path) -> list[HiveInput]:
    items = []
    for host in ("A", "B"):
        folder = tmp_path / host
        folder.mkdir()
        shutil.copyfile(FIXTURES / "demo-SYSTEM", folder / "SYSTEM")
        items.append(HiveInput(str(folder / "SYSTEM")))
    return items


def test_a_worker_remembers_decoded_keys_across_its_hives(tmp_path: Path) -> None:
    memo = worker_record_memo()
    memo.clear()
    hits_before = memo.hits
    out = scan_chunk((0,), _two_hosts(tmp_path), ScanOptions(events=False, files=False))
    assert [o.status for o in out.outcomes] == ["ok", "ok"]
    assert len(memo) > 0
    assert memo.hits - hits_before >= out.outcomes[1].records  # the second host: every key known


def test_open_hive_alone_shares_nothing_between_calls(tmp_path: Path) -> None:
    memo = worker_record_memo()
    memo.clear()
    counts = (memo.hits, memo.misses)
    for _ in range(2):
        with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
            assert hive.services()
    assert len(memo) == 0 and (memo.hits, memo.misses) == counts


def test_a_memo_given_to_open_hive_gives_the_same_records(tmp_path: Path) -> None:
    memo = RecordMemo()
    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        plain = [r.to_dict() for r in hive.services("all")]
    for _ in range(2):  # the second pass is all hits
        with hivescan.open_hive(FIXTURES / "demo-SYSTEM", record_memo=memo) as hive:
            assert [r.to_dict() for r in hive.services("all")] == plain
    assert memo.hits >= len(plain)
