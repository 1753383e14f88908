"""A compiled ``_keywalk`` older than the Python beside it is not called: the Python path reads
every key instead, with the same records. (An editable checkout pulled but not rebuilt keeps
its old build; calling its functions the new way failed at the first service key.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hivescan.scm.compiled import KEYWALK, KEYWALK_INTERFACE
from tests.conftest import FIXTURES, project_env

pytestmark = pytest.mark.skipif(KEYWALK is None, reason="the _keywalk extension is not built here")

# a child that puts the real build under another interface number before hivescan imports it,
# then prints which path was taken and the records of the demo hive
CHILD = textwrap.dedent(
    """
    import importlib.util, json, sys, types
    # the real build, loaded from its file before any of hivescan is imported
    spec = importlib.util.spec_from_file_location("hivescan.scm._keywalk", sys.argv[3])
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)
    stale = types.ModuleType("hivescan.scm._keywalk")
    stale.__dict__.update({k: v for k, v in vars(real).items() if k != "INTERFACE"})
    if sys.argv[2] != "absent":
        stale.INTERFACE = int(sys.argv[2])
    sys.modules["hivescan.scm._keywalk"] = stale
    import hivescan
    from hivescan.scm import keywalk, memo, record
    from hivescan.scm.compiled import KEYWALK
    with hivescan.open_hive(sys.argv[1], logs="none", record_memo=memo.RecordMemo()) as hive:
        rows = [r.to_dict() for r in hive.services("all")]
    print(json.dumps({"compiled": KEYWALK is not None, "walk": keywalk.IMPLEMENTATION,
                      "builder": record.record_from_fields.__module__ != __name__ and
                      type(record.record_from_fields).__name__, "rows": rows}, default=str))
    """
)


def _child(interface: str) -> dict[str, object]:
    assert KEYWALK is not None
    hive = str(FIXTURES / "demo-SYSTEM")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, hive, interface, str(KEYWALK.__file__)],
        capture_output=True,
        text=True,
        env=project_env(),
        timeout=120,
        check=True,
    )
    import json

    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_build_of_another_interface_is_not_used_and_the_records_are_the_same() -> None:
    current = _child(str(KEYWALK_INTERFACE))
    assert current["compiled"] is True and current["walk"] == "c"
    for stale in (str(KEYWALK_INTERFACE - 1), "absent"):
        old = _child(stale)
        assert old["compiled"] is False and old["walk"] == "python", stale
        assert old["builder"] != current["builder"]  # the draft builder, not the compiled one
        assert old["rows"] == current["rows"], stale
