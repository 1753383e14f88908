"""A local pool's workers start with the services dataset's schema built (by the forkserver's
preload), not built in each worker's first chunk."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from hivescan.triage.engines import local_executor
from tests.triage.test_preload_schema import schema_built_before_use
if __name__ == "__main__":
    with local_executor(2) as pool:
        print(sorted(pool.submit(schema_built_before_use).result() for _ in range(4)))
"""


def schema_built_before_use() -> bool:
    """In a worker: whether the services schema was already built when it got its first task."""
    from hivescan.triage.schema import services_schema

    return services_schema.cache_info().currsize == 1


def test_local_workers_start_with_the_services_schema_built(tmp_path: Path) -> None:
    from tests.conftest import run_probe

    done = run_probe(tmp_path, PROBE)
    assert done.stdout.strip() == "[True, True, True, True]"
