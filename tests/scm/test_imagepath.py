"""ImagePath rules: the example tables of scm-spec §5.2 (drivers) and §5.3 (Win32) are the cases."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_EXPAND_SZ
from hivescan.scm.environment import Environment, build_environment
from hivescan.scm.imagepath import (
    nt_to_dos,
    resolve_driver_image,
    resolve_image,
    resolve_win32_image,
    split_command_line,
    with_default_extension,
)
from hivescan.testing.regf import sz

EXPAND, SZ = "REG_EXPAND_SZ", "REG_SZ"


@pytest.fixture
def env() -> Environment:
    """SystemRoot from SOFTWARE (not assumed), Path and ProgramFiles as on Windows 10."""
    values = [RawValue("Path", REG_EXPAND_SZ, sz("%SystemRoot%\\system32;%SystemRoot%;C:\\Tools"))]
    return build_environment(values, system_root="C:\\Windows", program_dirs={"ProgramFiles": "C:\\Program Files"})


def codes(diags: object) -> list[str]:
    return [d.code for d in diags]  # type: ignore[attr-defined]


# ---- §5.2 drivers: (raw, type) -> kernel path, resolved, alternative, diagnostics


DRIVER_TABLE = [
    # absent: the documented default
    (None, None, "\\SystemRoot\\System32\\drivers\\foo.sys", "C:\\Windows\\System32\\drivers\\foo.sys", (), []),
    (
        "System32\\drivers\\tcpip.sys",
        EXPAND,
        "\\SystemRoot\\System32\\drivers\\tcpip.sys",
        "C:\\Windows\\System32\\drivers\\tcpip.sys",
        (),
        [],
    ),
    (
        "\\SystemRoot\\System32\\drivers\\ntfs.sys",
        EXPAND,
        "\\SystemRoot\\System32\\drivers\\ntfs.sys",
        "C:\\Windows\\System32\\drivers\\ntfs.sys",
        (),
        [],
    ),
    (
        "\\??\\C:\\Windows\\Temp\\x.sys",
        EXPAND,
        "\\??\\C:\\Windows\\Temp\\x.sys",
        "C:\\Windows\\Temp\\x.sys",
        (),
        ["driver_dos_devices_path"],
    ),
    (
        "%SystemRoot%\\System32\\drivers\\x.sys",
        EXPAND,
        "\\SystemRoot\\%SystemRoot%\\System32\\drivers\\x.sys",
        None,
        ("C:\\Windows\\System32\\drivers\\x.sys",),
        ["driver_envvar_not_expanded"],
    ),
    ("C:\\drv\\x.sys", EXPAND, "\\SystemRoot\\C:\\drv\\x.sys", None, ("C:\\drv\\x.sys",), ["driver_dos_path"]),
    (
        "\\Device\\HarddiskVolume3\\drv\\x.sys",
        EXPAND,
        "\\Device\\HarddiskVolume3\\drv\\x.sys",
        None,
        (),
        ["nt_device_path"],
    ),
    # beyond the table: other DOS-device prefixes, REG_SZ, an empty value, odd NT paths, quotes
    ("\\DosDevices\\D:\\x.sys", EXPAND, "\\DosDevices\\D:\\x.sys", "D:\\x.sys", (), ["driver_dos_devices_path"]),
    ("\\GLOBAL??\\E:\\x.sys", EXPAND, "\\GLOBAL??\\E:\\x.sys", "E:\\x.sys", (), ["driver_dos_devices_path"]),
    (
        "system32\\DRIVERS\\x.sys",
        SZ,
        "\\SystemRoot\\system32\\DRIVERS\\x.sys",
        "C:\\Windows\\system32\\DRIVERS\\x.sys",
        (),
        ["driver_imagepath_reg_sz"],
    ),
    (
        "",
        EXPAND,
        "\\SystemRoot\\System32\\drivers\\foo.sys",
        "C:\\Windows\\System32\\drivers\\foo.sys",
        (),
        ["image_path_empty"],
    ),
    ("\\Windows\\x.sys", EXPAND, "\\Windows\\x.sys", None, (), ["driver_unmapped_nt_path"]),
    (
        '"\\SystemRoot\\x.sys"',
        EXPAND,
        '\\SystemRoot\\"\\SystemRoot\\x.sys"',
        None,
        ("C:\\Windows\\x.sys",),
        ["driver_path_quoted"],
    ),
]


@pytest.mark.parametrize(("raw", "reg_type", "nt_path", "resolved", "alternatives", "notes"), DRIVER_TABLE)
def test_driver_rule_table(
    env: Environment,
    raw: str | None,
    reg_type: str | None,
    nt_path: str,
    resolved: str | None,
    alternatives: tuple[str, ...],
    notes: list[str],
) -> None:
    res = resolve_driver_image("foo", raw, reg_type, env)
    assert res.nt_path == nt_path
    assert res.resolved == resolved
    assert res.candidates == alternatives
    assert codes(res.diagnostics) == notes
    assert res.source == ("default" if not raw else "registry")
    assert res.args is None  # drivers take no command line


def test_driver_paths_are_never_expanded(env: Environment) -> None:
    res = resolve_driver_image("x", "%SystemRoot%\\x.sys", EXPAND, env)
    assert res.expanded == "%SystemRoot%\\x.sys"
    assert res.env_used == (("SystemRoot", True),)  # the alternative reading used it


def test_assumed_system_root_is_noted_per_record() -> None:
    env = build_environment([], system_root=None)
    res = resolve_driver_image("foo", None, None, env)
    assert res.resolved == "C:\\Windows\\System32\\drivers\\foo.sys"
    assert codes(res.diagnostics) == ["systemroot_assumed"]
    assert res.diagnostics[0].level == "info"
    other = resolve_driver_image("bar", "\\??\\D:\\x.sys", EXPAND, env)
    assert "systemroot_assumed" not in codes(other.diagnostics)  # D:\ does not depend on it


def test_system_root_from_software_changes_driver_paths() -> None:
    env = build_environment([], system_root="D:\\WINNT")
    assert resolve_driver_image("foo", None, None, env).resolved == "D:\\WINNT\\System32\\drivers\\foo.sys"
    assert resolve_driver_image("a", "\\SystemRoot\\a.sys", EXPAND, env).resolved == "D:\\WINNT\\a.sys"


# ---- §5.3 Win32: (raw, type) -> module, args, candidates, risk, diagnostics

WIN32_TABLE = [
    (
        "%SystemRoot%\\System32\\svchost.exe -k netsvcs -p",
        EXPAND,
        "C:\\Windows\\System32\\svchost.exe",
        "-k netsvcs -p",
        (),
        False,
        [],
    ),
    (
        '"C:\\Program Files\\Foo\\foo.exe" /svc',
        EXPAND,
        "C:\\Program Files\\Foo\\foo.exe",
        "/svc",
        (),
        False,
        [],
    ),
    (
        "C:\\Program Files\\Foo Bar\\svc.exe -run",
        SZ,
        "C:\\Program Files\\Foo Bar\\svc.exe",
        "-run",
        (
            "C:\\Program.exe",
            "C:\\Program Files\\Foo.exe",
            "C:\\Program Files\\Foo Bar\\svc.exe",
            "C:\\Program Files\\Foo Bar\\svc.exe -run",
        ),
        True,
        ["image_module_guessed"],
    ),
    ("%ProgramFiles%\\Foo\\foo.exe", SZ, None, None, (), False, ["envvar_in_reg_sz"]),
    (
        "svchost.exe -k LocalService",
        EXPAND,
        "C:\\Windows\\System32\\svchost.exe",
        "-k LocalService",
        (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\System\\svchost.exe",
            "C:\\Windows\\svchost.exe",
            "C:\\Tools\\svchost.exe",
        ),
        False,
        ["image_path_searched"],
    ),
    ("\\??\\C:\\Tools\\agent.exe", EXPAND, "C:\\Tools\\agent.exe", None, (), False, ["nt_prefix_stripped"]),
    # beyond the table
    # %ProgramFiles% expands to a path with a blank: unquoted, so C:\Program.exe would run first
    (
        "%ProgramFiles%\\Foo\\foo.exe",
        EXPAND,
        "C:\\Program Files\\Foo\\foo.exe",
        None,
        ("C:\\Program.exe", "C:\\Program Files\\Foo\\foo.exe"),
        True,
        ["image_module_guessed"],
    ),
    ("%ProgramData%\\x\\y.exe", EXPAND, None, None, (), False, ["envvar_unknown"]),
    ("\\SystemRoot\\x.exe", EXPAND, "C:\\SystemRoot\\x.exe", None, (), False, ["nt_path_in_win32_imagepath"]),
    ('"C:\\Program Files\\x.exe -a', EXPAND, "C:\\Program Files\\x.exe -a", None, (), False, ["unbalanced_quote"]),
    ("C:\\Tools\\agent -x", EXPAND, "C:\\Tools\\agent.exe", "-x", (), False, []),
    ("\\\\server\\share\\a.exe", EXPAND, "\\\\server\\share\\a.exe", None, (), False, ["image_path_unc"]),
    ("bin\\a.exe", EXPAND, "C:\\Windows\\System32\\bin\\a.exe", None, (), False, ["image_path_relative"]),
    ("\\Tools\\a.exe", EXPAND, "C:\\Tools\\a.exe", None, (), False, ["image_path_rooted"]),
    ("D:a.exe", EXPAND, None, None, (), False, ["image_path_drive_relative"]),
]


@pytest.mark.parametrize(("raw", "reg_type", "resolved", "args", "candidates", "risk", "notes"), WIN32_TABLE)
def test_win32_rule_table(
    env: Environment,
    raw: str,
    reg_type: str,
    resolved: str | None,
    args: str | None,
    candidates: tuple[str, ...],
    risk: bool,
    notes: list[str],
) -> None:
    res = resolve_win32_image("foo", raw, reg_type, env)
    assert res.resolved == resolved
    assert res.args == args
    assert res.candidates == candidates
    assert res.unquoted_path_risk is risk
    assert codes(res.diagnostics) == notes


def test_reg_sz_is_not_expanded(env: Environment) -> None:
    res = resolve_win32_image("foo", "%SystemRoot%\\x.exe", SZ, env)
    assert res.expanded == "%SystemRoot%\\x.exe"
    assert res.env_used == ()


def test_missing_win32_image_path_has_only_the_legacy_candidate(env: Environment) -> None:
    res = resolve_win32_image("Foo", None, None, env)
    assert res.resolved is None and res.source is None
    assert res.candidates == ("C:\\Windows\\System32\\Foo.exe",)
    assert codes(res.diagnostics) == ["candidate_legacy_default"]


def test_resolve_image_picks_the_rules_by_type(env: Environment) -> None:
    assert resolve_image("x", 0x1, None, None, env).nt_path is not None  # driver default applies
    assert resolve_image("x", 0x20, None, None, env).nt_path is None
    assert resolve_image("x", 0x4, "x.sys", EXPAND, env) == resolve_image("x", None, "x.sys", EXPAND, env)
    assert resolve_image("x", 0x4, "x.sys", EXPAND, env).resolved is None  # rejected type: no rule


def test_nt_to_dos_mapping() -> None:
    assert nt_to_dos("\\systemroot\\a.sys", "C:\\W") == ("C:\\W\\a.sys", None)
    assert nt_to_dos("\\??\\c:\\a.sys", "C:\\W") == ("c:\\a.sys", None)
    dos, note = nt_to_dos("\\Device\\HarddiskVolume1\\a.sys", "C:\\W")
    assert dos is None and note is not None and note.code == "nt_device_path"


# ---- command-line splitting (a parser: property tests)


def test_quoted_module_and_args() -> None:
    line = split_command_line('  "C:\\a b\\c.exe"  -x  ')
    assert (line.module, line.args, line.quoted, line.candidates) == ("C:\\a b\\c.exe", "-x", True, ("C:\\a b\\c.exe",))


def test_tab_separates_like_space() -> None:
    line = split_command_line("C:\\a b\\c.exe\t-x")
    assert line.candidates == ("C:\\a.exe", "C:\\a b\\c.exe", "C:\\a b\\c.exe\t-x")
    assert line.chosen == 1 and line.args == "-x"


def test_extension_rules() -> None:
    assert with_default_extension("C:\\a\\b") == "C:\\a\\b.exe"
    assert with_default_extension("C:\\a.d\\b") == "C:\\a.d\\b.exe"  # the dot is in a folder name
    assert with_default_extension("C:\\a\\b.com") == "C:\\a\\b.com"
    assert with_default_extension("C:\\a\\b.") == "C:\\a\\b."


def test_without_any_extension_the_first_candidate_is_assumed() -> None:
    line = split_command_line("C:\\Tools\\my agent -x")
    assert not line.guessed and line.chosen == 0
    assert (line.module, line.args, line.candidates) == ("C:\\Tools\\my", "agent -x", ("C:\\Tools\\my.exe",))


def test_a_later_exe_is_a_guess_with_every_candidate() -> None:
    line = split_command_line("C:\\My Tools\\run it.exe /q")
    assert line.guessed and line.chosen == 2
    # "/" separates path components too, so the whole line's last component is "q"
    assert line.candidates == (
        "C:\\My.exe",
        "C:\\My Tools\\run.exe",
        "C:\\My Tools\\run it.exe",
        "C:\\My Tools\\run it.exe /q.exe",
    )


commandish = st.text(alphabet=st.sampled_from(list('ab \t"\\.:%exEX-')), max_size=50)


@given(commandish)
def test_split_never_raises_and_keeps_the_text(text: str) -> None:
    line = split_command_line(text)
    stripped = text.strip(" \t")
    if line.quoted:
        assert text.lstrip(" \t").startswith('"' + line.module)
    else:
        assert stripped.startswith(line.module)
        if line.module:
            assert 0 <= line.chosen < len(line.candidates)
            assert line.candidates[line.chosen] == with_default_extension(line.module)
    if line.args is not None:
        assert stripped.endswith(line.args)


@given(commandish)
def test_candidates_are_growing_prefixes(text: str) -> None:
    line = split_command_line(text)
    if line.quoted:
        return
    stripped = text.strip(" \t")
    bases = [c if stripped.startswith(c) else c[: -len(".exe")] for c in line.candidates]
    assert all(stripped.startswith(b) for b in bases)
    assert all(len(a) < len(b) for a, b in itertools.pairwise(bases))


@given(st.text(max_size=80), st.sampled_from([EXPAND, SZ, None]), st.sampled_from([0x1, 0x2, 0x10, 0x20, 0x60, 0xE0]))
def test_resolution_never_raises(raw: str, reg_type: str | None, type_: int) -> None:
    env = build_environment([], system_root="C:\\Windows")
    res = resolve_image("svc", type_, raw, reg_type, env)
    assert res.resolved is None or isinstance(res.resolved, str)
    if type_ in (0x1, 0x2):
        assert res.resolved is not None or res.diagnostics  # every driver: a path or a reason


def test_unexpanded_variable_at_the_start_is_no_interception_risk() -> None:
    """impacket smbexec's REG_SZ '%COMSPEC% /Q /c ...': CreateProcess gets the literal text, the
    start fails, and no earlier candidate could be planted (only the decoder notes say so)."""
    env = build_environment([], system_root="C:\\Windows")
    line = r"%COMSPEC% /Q /c echo whoami ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat"
    result = resolve_win32_image("BTOBTO", line, "REG_SZ", env)
    assert result.unquoted_path_risk is False
    assert "envvar_in_reg_sz" in {d.code for d in result.diagnostics}
    expandable = resolve_win32_image("X", r"C:\Program Files\Acme Backup\agent.exe -s", "REG_SZ", env)
    assert expandable.unquoted_path_risk is True
