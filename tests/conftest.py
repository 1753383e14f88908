"""Shared test fixtures: real hives from ../shared (skipped when absent) and hive builders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from hivescan.testing.regf import HiveWriter, WKey

# No time limit per hypothesis example: speed is measured in bench/, never asserted in a test,
# and the 200 ms default failed correct code whenever the shared machine was loaded
# (tests/scm/test_environment.py, seen at a 1-minute load of 10).
settings.register_profile("hivescan", deadline=None)
settings.load_profile("hivescan")

ROOT = Path(__file__).resolve().parents[1]
SHARED_HIVES = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives"
FIXTURES = ROOT / "fixtures"


def shared_hive(name: str) -> Path:
    """A real hive from ../shared/hives, or skip the test saying why."""
    path = SHARED_HIVES / name
    if not path.is_file():
        pytest.skip(f"real test hive {name} not available ({SHARED_HIVES} missing; see ../shared/hives/SOURCES.md)")
    return path


def shared_hive_edited_by_hivex(name: str, tmp_path: Path, script: str) -> Path:
    """A private copy of a real hive, edited by hivexsh (another registry library: what it
    writes is not the project's writer), or skip the test saying what is missing."""
    import shutil
    import subprocess

    hivexsh = shutil.which("hivexsh")
    if hivexsh is None:
        pytest.skip("hivexsh not installed (Debian package libhivex-bin; .ci/run installs it)")
    hive_path = tmp_path / name
    shutil.copyfile(shared_hive(name), hive_path)
    hive_path.chmod(0o644)
    commands = tmp_path / f"{name}.hivexsh"
    commands.write_text(script, encoding="utf-8")
    subprocess.run([hivexsh, "-w", "-f", str(commands), str(hive_path)], check=True, capture_output=True, timeout=120)
    return hive_path


@pytest.fixture
def shared() -> Callable[[str], Path]:
    """:func:`shared_hive` as a fixture (for test modules that do not import conftest)."""
    return shared_hive


@pytest.fixture
def demo_hive() -> Path:
    return FIXTURES / "demo-SYSTEM"


def system_root(current: int = 1, sets: tuple[int, ...] = (1,)) -> WKey:
    """A minimal SYSTEM tree: Select plus empty ControlSetNNN\\Services keys."""
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", current).set_dword("Default", current).set_dword(
        "LastKnownGood", sets[0]
    ).set_dword("Failed", 0)
    for n in sets:
        root.key(f"ControlSet{n:03d}\\Services")
    return root


@pytest.fixture
def write_hive(tmp_path: Path) -> Callable[..., Path]:
    """Write a WKey tree as a hive file and return its path."""
    counter = iter(range(10_000))

    def _write(root: WKey, name: str | None = None, **options: object) -> Path:
        path = tmp_path / (name or f"SYSTEM-{next(counter)}")
        path.write_bytes(HiveWriter(root, **options).build().data)  # type: ignore[arg-type]
        return path

    return _write


@pytest.fixture
def spec_hive(tmp_path: Path) -> Callable[..., Path]:
    """A SYSTEM hive from a spec fragment: ControlSet001 = Current with these services and keys.

    ``spec_hive({"Svc": {"values": {...}}}, control={"Control\\\\ServiceGroupOrder": {...}})``;
    ``raw=`` takes a whole spec instead (any hive, e.g. SOFTWARE: ``raw={"keys": {...}}``).
    """
    from hivescan.testing.spec import build_from_spec

    counter = iter(range(10_000))

    def _build(
        services: dict[str, object] | None = None,
        *,
        control: dict[str, object] | None = None,
        raw: dict[str, object] | None = None,
        name: str | None = None,
    ) -> Path:
        spec = raw or {
            "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 1, "Failed": 0}}},
            "control_sets": [{"number": 1, "keys": control or {}, "services": services or {}}],
        }
        path = tmp_path / (name or f"HIVE-{next(counter)}")
        path.write_bytes(build_from_spec(spec).data)
        return path

    return _build


def project_env(*first: Path, **extra: str) -> dict[str, str]:
    """This process's environment for a child Python that must import this checkout: ``first``
    folders, then the project, then any PYTHONPATH already set, on its path; ``extra`` set."""
    path = os.pathsep.join([*map(str, first), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def run_probe(tmp_path: Path, source: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``source`` run as a script in a fresh Python that imports this checkout (nothing of this
    test process reused: no forkserver, no import, no cache), its exit checked; its output back."""
    script = tmp_path / "probe.py"
    script.write_text(source)
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=project_env(),
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done


CHILD_MEMORY_LIMIT = 1 << 30  # bytes of address space for a child run: the hostile-input issue's "under 1 GB"


def run_capped(
    module: str, *args: str, timeout: float, memory: int = CHILD_MEMORY_LIMIT
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` as a user's process: this checkout first on the path, its
    address space capped at 1 GiB and its time bounded, so a runaway is a failed test, not a
    machine out of memory."""
    import resource
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        env=env,
    )
