"""What the CLI's start loads: nothing a command does not use before its work starts.

Why: ``hivescan triage`` on a collection is one process per run, and its start is a serial
cost of every run (issue 13). Importing the package or the CLI must not rebuild anything.
Loaded modules are checked, never times (speed is measured in bench/).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("hivescan.system", "hivescan.scm.services", "hivescan.hive.tree", "pandas", "pyarrow", "rich.console")


def _loaded_after(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.parametrize("code", ["import hivescan", "import hivescan.cli", "import hivescan.errors"])
def test_importing_the_package_or_the_cli_rebuilds_nothing(code: str) -> None:
    assert _loaded_after(code) == []


def test_public_names_load_on_first_use() -> None:
    import hivescan
    from hivescan.system import open_hive

    assert hivescan.open_hive is open_hive
    assert {"open_hive", "ServiceRecord", "Diagnostic", "__version__"} <= set(dir(hivescan))
    assert set(hivescan.__all__) <= set(dir(hivescan))
    for name in hivescan.__all__:
        assert getattr(hivescan, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = hivescan.nothing_here  # type: ignore[attr-defined]
    from hivescan import HiveSource, SystemHive  # the `from` form goes through the same hook

    assert SystemHive.__name__ == "SystemHive" and HiveSource.__name__ == "HiveSource"


def test_a_lazy_public_name_is_loaded_once_and_other_names_are_refused() -> None:
    from hivescan.lazy import load_public

    namespace: dict[str, object] = {}
    public = {"dumps": "json"}
    import json

    assert load_public("pkg", public, namespace, "dumps") is json.dumps
    assert namespace == {"dumps": json.dumps}  # kept: the next look-up is an ordinary attribute
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'loads'"):
        load_public("pkg", public, namespace, "loads")
