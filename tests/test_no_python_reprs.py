"""No renderer shows a Python repr (``True``, ``None``, ``{'a': 1}``, a tuple) for a value read
from a hive: flags read yes/no and a missing value ``-``, as explanations and the report say
them (detect/engine.py ``_quote``); anything nested is JSON."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.render.fields import failure_actions_lines, plain
from hivescan.testing.encoders import encode_failure_actions
from hivescan.testing.regf import HiveWriter
from tests.conftest import system_root


def test_plain_words_flags_and_missing_values_and_nests_as_json() -> None:
    assert plain(True) == "yes" and plain(False) == "no" and plain(None) == "-"
    assert plain(0) == "0" and plain("True") == "True"  # text is shown as it is
    assert plain((1, "a")) == '[1, "a"]' and plain({"a": None, "b": True}) == '{"a": null, "b": true}'


# texts without the letters of True/False/None or quotes: a text is shown as itself, so one that
# spells a repr word (["True"]) would fail the property without any repr being shown
_TEXT = st.text(alphabet="abcdxyz 0123-_.\\:/", max_size=5)
scalars = st.none() | st.booleans() | st.integers() | _TEXT
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner))


@given(values)
def test_plain_never_shows_a_python_repr(value: object) -> None:
    shown = plain(value)
    if not isinstance(value, str):
        assert "True" not in shown and "False" not in shown and "None" not in shown and "'" not in shown[:1]
        assert not shown.startswith("(")


def test_failure_actions_lines_say_yes_for_the_non_crash_flag() -> None:
    shown = failure_actions_lines({"reset_period_s": 0, "on_non_crash_failures": True, "layout": None})
    assert "on_non_crash_failures: yes" in shown and "layout: -" in shown


def test_show_words_a_flag_in_a_mapping_yes_not_true(tmp_path: Path) -> None:
    root = system_root()
    svc = root.key("ControlSet001\\Services\\Flagged")
    svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "%SystemRoot%\\flagged.exe")  # env_vars: {SystemRoot: True}
    svc.set_binary("FailureActions", encode_failure_actions(0, [{"type": 1, "delay_ms": 60000}]))
    svc.set_dword("FailureActionsOnNonCrashFailures", 1)
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    result = CliRunner().invoke(app, ["show", str(hive), "Flagged", "-q"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert "SystemRoot: yes" in result.stdout
    for repr_word in ("True", "False", "None"):
        assert repr_word not in result.stdout
