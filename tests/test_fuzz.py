"""Fuzzing the reading path: mutated hives never crash, hang or blow up memory.

Two layers (see :mod:`hivescan.testing.fuzz`): hundreds of mutants -- random and
structure-aware (index roots naming themselves or each other, huge counts, value, big-data
and security records pointing at themselves) -- read in one child process; and a few mutants
through the real command, each run in its own process. Every child has an address-space
limit of 1 GiB and a timeout, so a hang in native code or a runaway allocation fails the
test instead of the test run. The long runs are behind the ``slow`` marker and
``HIVESCAN_SLOW=1`` (they take many minutes on a shared machine).
"""

from __future__ import annotations

import os
import random
import subprocess

import pytest

from hivescan.testing.fuzz import STRUCTURAL, default_seeds, structural_mutate
from tests.conftest import run_capped

LONG = pytest.mark.skipif(
    os.environ.get("HIVESCAN_SLOW") != "1", reason="long fuzzing run: set HIVESCAN_SLOW=1 to run it"
)


def run_fuzzer(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return run_capped("hivescan.testing.fuzz", *args, timeout=timeout)


def test_every_structural_mutation_applies_to_the_seeds() -> None:
    """Each kind finds what it changes in the default seeds (else the fuzzer tests nothing)."""
    seeds = default_seeds()
    rng = random.Random(5)
    seen: set[str] = set()
    for _ in range(600):
        seed = rng.choice(seeds)
        data, kind = structural_mutate(seed, rng)
        if data != seed:  # a kind may rewrite a field with the value it had (a list header naming itself)
            seen.add(kind)
    assert seen == set(STRUCTURAL)


def test_mutated_hives_never_crash_hang_or_blow_up() -> None:
    cases = 400
    done = run_fuzzer("--cases", str(cases), "--per-case", "5", "--seed", "1111", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{cases} cases" in done.stdout and "0 failure(s)" in done.stdout


def test_mutated_hives_through_the_command_give_documented_exit_codes() -> None:
    """services --deleted -c all, info and scan, each in its own process under 1 GiB."""
    done = run_fuzzer("--cases", "0", "--cli", "4", "--seed", "2222", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "4 cli cases (12 runs)" in done.stdout and "0 failure(s)" in done.stdout


@pytest.mark.slow
@LONG
def test_thousands_of_mutated_hives() -> None:
    done = run_fuzzer("--cases", "5000", "--per-case", "5", "--seed", "20241124", timeout=7200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.slow
@LONG
def test_hundreds_of_mutated_hives_through_the_command() -> None:
    done = run_fuzzer("--cases", "0", "--cli", "300", "--seed", "3333", timeout=7200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
