"""The rebuilt system environment and %VAR% expansion (scm-spec §5.1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
from hivescan.scm.environment import (
    ASSUMED_SYSTEM_ROOT,
    MAX_NESTING,
    build_environment,
    expand,
    used_once,
)
from hivescan.testing.regf import multi_sz, sz


def _lookup(table: dict[str, str]):  # type: ignore[no-untyped-def]
    upper = {k.upper(): v for k, v in table.items()}
    return lambda name: upper.get(name.upper())


def test_known_variable_is_replaced_case_insensitively() -> None:
    result = expand("%systemroot%\\System32\\svchost.exe", _lookup({"SystemRoot": "C:\\Windows"}))
    assert result.value == "C:\\Windows\\System32\\svchost.exe"
    assert result.used == (("systemroot", True),)


def test_unknown_variable_is_kept_with_both_percent_signs() -> None:
    result = expand("%ProgramFiles%\\Foo\\foo.exe", _lookup({}))
    assert result.value == "%ProgramFiles%\\Foo\\foo.exe"
    assert result.used == (("ProgramFiles", False),)


def test_scanning_resumes_after_an_unknown_name() -> None:
    # ReactOS RtlExpandEnvironmentStrings_U copies "%A%" whole, so "B" is not a name here
    assert expand("%A%B%C%", _lookup({"B": "x", "C": "y"})).value == "%A%By"
    assert expand("%A%%C%", _lookup({"C": "y"})).value == "%A%y"


def test_lone_percent_and_empty_name_are_verbatim() -> None:
    assert expand("100% sure", _lookup({})).value == "100% sure"
    assert expand("a%%b", _lookup({"": "never"})).value == "a%%b"
    assert expand("50%", _lookup({})).used == ()


def test_substituted_values_are_not_expanded_again() -> None:
    # Wine's Windows-run test: Indirect-%IndirectVar%-Indirect -> Indirect-Foo%EnvVar%Bar-Indirect
    lookup = _lookup({"IndirectVar": "Foo%EnvVar%Bar", "EnvVar": "Long long value"})
    assert expand("Indirect-%IndirectVar%-Indirect", lookup).value == "Indirect-Foo%EnvVar%Bar-Indirect"


@given(st.text(alphabet=st.sampled_from(list("%ab\\: C")), max_size=40))
def test_expanding_with_nothing_known_changes_nothing(text: str) -> None:
    result = expand(text, lambda _name: None)
    assert result.value == text
    assert all(not known for _, known in result.used)


@given(st.text(max_size=60), st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=10), max_size=4))
def test_expand_never_raises_and_reports_each_lookup(text: str, table: dict[str, str]) -> None:
    result = expand(text, _lookup(table))
    assert isinstance(result.value, str)
    assert len(result.used) <= text.count("%")


def _env_values(**values: tuple[int, bytes]) -> list[RawValue]:
    return [RawValue(name, reg_type, data) for name, (reg_type, data) in values.items()]


def test_environment_expands_its_own_values_recursively() -> None:
    env = build_environment(
        _env_values(
            Path=(REG_EXPAND_SZ, sz("%SystemRoot%\\system32;%windir%")),
            windir=(REG_EXPAND_SZ, sz("%SystemRoot%")),
            OS=(REG_SZ, sz("Windows_NT")),
        ),
        system_root="D:\\WINNT",
    )
    assert not env.system_root_assumed
    assert env.get("PATH") == "D:\\WINNT\\system32;D:\\WINNT"
    assert env.get("systemdrive") == "D:"
    assert env.get("os") == "Windows_NT"
    assert env.variables["WINDIR"] == ("windir", "D:\\WINNT", "Control\\Session Manager\\Environment")
    assert not env.diagnostics


def test_reg_sz_environment_values_are_not_expanded() -> None:
    env = build_environment(_env_values(X=(REG_SZ, sz("%SystemRoot%\\x"))), system_root="C:\\Windows")
    assert env.get("X") == "%SystemRoot%\\x"


def test_missing_system_root_is_assumed_and_flagged() -> None:
    env = build_environment([], system_root=None)
    assert env.system_root == ASSUMED_SYSTEM_ROOT and env.system_root_assumed
    assert env.variables["SYSTEMROOT"][2] == "assumed"
    assert [d.code for d in env.diagnostics] == ["systemroot_assumed"]


def test_missing_environment_key_is_flagged() -> None:
    env = build_environment(None, system_root="C:\\Windows")
    assert [d.code for d in env.diagnostics] == ["environment_missing"]
    assert env.get("SystemRoot") == "C:\\Windows"


def test_cycle_is_left_unexpanded_and_flagged() -> None:
    env = build_environment(
        _env_values(A=(REG_EXPAND_SZ, sz("x%B%")), B=(REG_EXPAND_SZ, sz("y%A%"))), system_root="C:\\Windows"
    )
    assert env.get("A") == "xy%A%"
    assert env.get("B") == "y%A%"
    assert [d.code for d in env.diagnostics] == ["environment_cycle"]


def test_self_reference_is_a_cycle() -> None:
    env = build_environment(_env_values(Path=(REG_EXPAND_SZ, sz("%Path%;C:\\x"))), system_root="C:\\Windows")
    assert env.get("Path") == "%Path%;C:\\x"
    assert env.diagnostics[0].code == "environment_cycle"


def test_deep_chains_are_bounded() -> None:
    chain = {f"V{i}": (REG_EXPAND_SZ, sz(f"%V{i + 1}%")) for i in range(MAX_NESTING + 10)}
    chain[f"V{MAX_NESTING + 10}"] = (REG_SZ, sz("end"))
    env = build_environment(_env_values(**chain), system_root="C:\\Windows")
    assert "environment_nesting_limit" in {d.code for d in env.diagnostics}
    assert env.get(f"V{MAX_NESTING + 9}") == "end"


def test_exponential_growth_is_cut_at_the_windows_maximum() -> None:
    values = {f"V{i}": (REG_EXPAND_SZ, sz(f"%V{i + 1}%%V{i + 1}%")) for i in range(20)}
    values["V20"] = (REG_SZ, sz("abcdefgh"))
    env = build_environment(_env_values(**values), system_root="C:\\Windows")
    assert len(env.get("V0") or "") == 32767
    assert "environment_value_too_long" in {d.code for d in env.diagnostics}


def test_other_value_types_are_ignored_with_a_note() -> None:
    env = build_environment(
        _env_values(M=(REG_MULTI_SZ, multi_sz(["a", "b"])), B=(REG_BINARY, b"\x01")), system_root="C:\\Windows"
    )
    assert env.get("M") is None and env.get("B") is None
    assert [d.code for d in env.diagnostics] == ["environment_value_ignored", "environment_value_ignored"]


def test_fixed_variables_win_over_the_registry_and_the_clash_is_noted() -> None:
    env = build_environment(
        _env_values(SystemRoot=(REG_SZ, sz("E:\\Evil")), ProgramFiles=(REG_SZ, sz("E:\\PF"))),
        system_root="C:\\Windows",
        program_dirs={"ProgramFiles": "C:\\Program Files"},
    )
    assert env.get("SystemRoot") == "C:\\Windows"
    assert env.get("ProgramFiles") == "C:\\Program Files"
    assert [d.code for d in env.diagnostics] == ["environment_value_overridden"] * 2


def test_used_once_keeps_first_spelling() -> None:
    assert used_once((("SystemRoot", True), ("FOO", False), ("systemroot", True))) == (
        ("SystemRoot", True),
        ("FOO", False),
    )
