"""Fuzzing transaction-log replay and the evidence invariant (issue 11, "Make it standing").

Log mutants (entries renumbered, reordered, duplicated, moved between logs, edited with their
Marvin32 hashes recomputed, logs cut, base blocks stale or garbled, one log of the pair
missing) of built dirty hives and of a copy of the real win10-dirty hive, in process and
through ``info``, ``services -c all --deleted`` and ``scan`` in child processes under 1 GiB
and a timeout. Each case must keep the invariant of :mod:`hivescan.testing.fuzz_check`: no
service of the primary-alone run lost without a diagnostic, no valid entry left out without a
warning naming its sequence number. Structural hive mutants are held to the same invariant.
The checkers themselves are tested on damage they must catch. Long runs: ``HIVESCAN_SLOW=1``.
"""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import pytest

from hivescan.testing.fuzz import default_seeds
from hivescan.testing.fuzz_check import hive_names, unexplained_losses, unwarned_entries, walk_log
from hivescan.testing.fuzz_logs import LOG_MUTATIONS, built_dirty_seeds, check_case, mutate_logs
from tests.conftest import SHARED_HIVES, run_capped
from tests.test_fuzz import LONG

REAL = SHARED_HIVES / "win10-dirty-SYSTEM"
NEEDS_REAL = pytest.mark.skipif(
    not (REAL.is_file() and REAL.with_name(REAL.name + ".LOG1").is_file()),
    reason=f"real dirty hive {REAL} with its logs not available (see ../shared/hives/SOURCES.md)",
)


def run_log_fuzzer(*args: str, timeout: float) -> str:
    done = run_fuzzer_module("hivescan.testing.fuzz_logs", *args, timeout=timeout)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def run_fuzzer_module(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` in a child under the 1 GiB address-space cap."""
    return run_capped(module, *args, timeout=timeout)


def test_every_log_mutation_applies_to_the_built_seeds() -> None:
    seeds = built_dirty_seeds()
    rng = random.Random(3)
    seen = set()
    for _ in range(300):
        seed = rng.choice(seeds)
        logs, kind = mutate_logs(seed, rng)
        if logs != dict(seed.logs):
            seen.add(kind)
    assert seen == set(LOG_MUTATIONS)


def test_log_mutants_keep_the_invariant_in_process() -> None:
    out = run_log_fuzzer("--cases", "300", "--seed", "6061", timeout=600)
    assert "300 log cases" in out and "0 failure(s)" in out


def test_log_mutants_through_the_command() -> None:
    """info, services -c all --deleted and scan in their own processes, invariant read from their output."""
    out = run_log_fuzzer("--cases", "0", "--cli", "2", "--seed", "6062", timeout=600)
    assert "2 log cli cases (6 runs)" in out and "0 failure(s)" in out


@NEEDS_REAL
def test_real_dirty_hive_log_mutants() -> None:
    """The real win10-dirty hive's logs mutated (the mutants are written to a temp folder; the
    shared files are only read)."""
    out = run_log_fuzzer("--only-given", "--cases", "3", "--cli", "1", "--seed", "6063", str(REAL), timeout=900)
    assert "3 log cases" in out and "1 log cli cases (3 runs)" in out and "0 failure(s)" in out


def test_structural_hive_mutants_lose_nothing_without_a_diagnostic() -> None:
    done = run_fuzzer_module(
        "hivescan.testing.fuzz", "--cases", "0", "--invariant", "1500", "--seed", "6064", timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1500 invariant cases" in done.stdout and "0 failure(s)" in done.stdout


@LONG
@pytest.mark.slow
def test_thousands_of_log_mutants() -> None:
    args = ["--cases", "5000", "--cli", "60", "--seed", "20261206"]
    if REAL.is_file():
        args.append(str(REAL))
    out = run_log_fuzzer(*args, timeout=7200)
    assert "0 failure(s)" in out


@LONG
@pytest.mark.slow
def test_thousands_of_structural_mutants_against_the_invariant() -> None:
    done = run_fuzzer_module("hivescan.testing.fuzz", "--cases", "0", "--invariant", "10000", timeout=7200)
    assert done.returncode == 0 and "0 failure(s)" in done.stdout, done.stdout[-4000:]


# ---------------------------------------------------------------- the checkers catch what they must


def _nk_cell(data: bytes, name: bytes) -> int:
    """Absolute offset of the key record named ``name`` (the built hive's names are ASCII)."""
    pos = data.find(b"nk")
    while pos != -1:
        length = struct.unpack_from("<H", data, pos + 0x48)[0]
        if data[pos + 0x4C : pos + 0x4C + length] == name:
            return pos - 4
        pos = data.find(b"nk", pos + 2)
    raise AssertionError(f"no key record named {name!r}")


def test_hive_checker_names_a_key_lost_without_its_diagnostic() -> None:
    """A service key record wiped (neither its list nor the free-space scan can find it) is
    lost; hivescan explains it (the list entry points at no key), and the checker, given the
    run without that explanation, names exactly the lost service."""
    seed = default_seeds()[1]
    intact = hive_names(seed)
    assert intact is not None and (1, "S5") in intact[0]
    data = bytearray(seed)
    nk = _nk_cell(bytes(data), b"S5")
    data[nk + 4 : nk + 6] = b"\0\0"
    mutated = hive_names(bytes(data))
    assert mutated is not None
    names, diags = mutated
    assert (1, "S5") not in names
    assert unexplained_losses(intact[0], names, diags) == []
    silent = [d for d in diags if d[1] == "info"]
    assert unexplained_losses(intact[0], names, silent) == ["ControlSet001\\Services\\S5"]


def test_log_checker_names_valid_entries_left_out_without_a_warning() -> None:
    seed = built_dirty_seeds()[0]
    walked = [e for log in seed.logs.values() for e in walk_log("x", log)]
    assert walked and all(e.valid for e in walked)
    numbers = sorted(e.sequence for e in walked)
    # the replay applied only the first entry and said nothing: every later one is named
    missing = unwarned_entries(seed.logs, numbers[:1], numbers[0], True, [])
    assert len(missing) == len(numbers) - 1
    warned = [("log_sequence_gap", "warning", "", f"entries {numbers[1]}-{numbers[-1]} are not applied")]
    assert unwarned_entries(seed.logs, numbers[:1], numbers[0], True, warned) == []
    # an info is not a warning
    infos = [(c, "info", f, m) for c, _, f, m in warned]
    assert len(unwarned_entries(seed.logs, numbers[:1], numbers[0], True, infos)) == len(numbers) - 1


def test_log_checker_accepts_the_intact_seeds(tmp_path: Path) -> None:
    """The unmutated dirty hives keep the invariant (the deleted service is named by the replay)."""
    from hivescan.testing.fuzz_logs import baseline_names

    for seed in built_dirty_seeds():
        baseline = baseline_names(tmp_path, seed)
        assert (1, "Svc3") in baseline
        assert check_case(tmp_path, seed, seed.logs, baseline) == []


def test_log_checker_sees_a_record_lost_by_the_replay(tmp_path: Path) -> None:
    """Svc3 and Svc11 are deleted by log entries: without log_replay_removed_service their loss is unexplained."""
    from hivescan.testing.fuzz_logs import _names_and_diags, baseline_names

    seed = built_dirty_seeds()[0]
    baseline = baseline_names(tmp_path, seed)
    for suffix, data in seed.logs.items():
        (tmp_path / ("SYSTEM" + suffix)).write_bytes(data)
    names, diags, _ = _names_and_diags(tmp_path / "SYSTEM", [str(tmp_path / ("SYSTEM" + s)) for s in seed.logs])
    assert (1, "Svc3") not in names and (1, "Svc11") not in names
    kept = [d for d in diags if d[0] != "log_replay_removed_service"]
    assert unexplained_losses(baseline, names, kept) == [
        "ControlSet001\\Services\\Svc11",
        "ControlSet001\\Services\\Svc3",
    ]
    assert unexplained_losses(baseline, names, diags) == []
