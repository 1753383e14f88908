"""Test support that ships with hivescan: a regf writer, spec-driven fixture hives, encoders.

Used by hivescan's own tests, benchmarks and notebooks; also handy for anyone who wants
to check a detection against a hive whose content they control.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def demo_hive_path() -> Path:
    """The bundled demo SYSTEM hive (``fixtures/demo-SYSTEM``) of a source checkout."""
    path = FIXTURES / "demo-SYSTEM"
    if not path.is_file():
        from hivescan.errors import HiveNotFound

        raise HiveNotFound(
            f"{path}: the demo hive ships with the source checkout (fixtures/demo-SYSTEM); "
            "install hivescan from the repository (pip install -e .)"
        )
    return path


def demo_software_path() -> Path | None:
    """The demo's SOFTWARE hive (``fixtures/demo-SOFTWARE``: SystemRoot, svchost group
    lists), or None when the checkout does not have it."""
    path = FIXTURES / "demo-SOFTWARE"
    return path if path.is_file() else None
