"""The committed demo hive is exactly what its spec builds (rebuild: python -m hivescan.testing build)."""

from __future__ import annotations

from pathlib import Path

from hivescan.testing.spec import build_from_spec, load_spec

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_demo_hive_equals_a_fresh_build() -> None:
    built = build_from_spec(load_spec(FIXTURES / "demo-SYSTEM.yaml")).data
    committed = (FIXTURES / "demo-SYSTEM").read_bytes()
    assert built == committed, "fixtures/demo-SYSTEM is stale: run `python -m hivescan.testing build`"
