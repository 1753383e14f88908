"""Names and values shaped by an attacker reach every renderer as data (issue 11 defect 2,
issue 12 escaping): no markup is interpreted, no escape sequence from the hive reaches the
terminal, control characters show as ``\\x1b``, ``\\n``, CSV cells cannot be formulas.

The hive is built by the project's writer with service keys named like the campaign's
mutants; every command and format runs on it through the CLI.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.testing.regf import HiveWriter, WKey
from hivescan.textsafe import csv_cell, html_text, shown_path, visible

HOSTILE = (
    "[/bogus]",
    "..[/x]",
    "[bold red]Styled",
    "[link=https://evil.example]Click",
    "Esc\x1b[31mRed",
    "Title\x1b]0;pwned\x07",
    "Clear\x1b[2J",
    "Line\nFake  row",
    "Cr\rOver",
    "Nul\x00Hidden",
    "Bidi\u202eexe.txt",
    ":warning: emoji",
)
FORMULA = "=cmd|' /C calc'!A0"
# what must never appear on stdout when the hive holds the names above (plain output)
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x00")


def _service(name: str, display: str) -> WKey:
    key = WKey(name)
    key.set_dword("Type", 0x10).set_dword("Start", 2).set_dword("ErrorControl", 1)
    key.set_expand_sz("ImagePath", f"C:\\Users\\Public\\{name}.exe")
    key.set_sz("DisplayName", display)
    key.set_sz("Description", FORMULA)
    key.set_sz("ObjectName", "@evil")
    return key


def _hive(path: Path, display: str) -> Path:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    for number in (1, 2):
        services = root.key(f"ControlSet{number:03d}\\Services")
        for name in HOSTILE:
            services.subkeys.append(_service(name, f"[bold red]{display} {name} [link=https://evil.example]x[/link]"))
    path.write_bytes(HiveWriter(root).build().data)
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    return _hive(tmp_path / "SYSTEM", "Disp")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _plain_ok(result: object, *visible_forms: str) -> str:
    out: str = result.stdout  # type: ignore[attr-defined]
    assert result.exit_code == 0, (result.exit_code, result.stderr)  # type: ignore[attr-defined]
    for raw in RAW:
        assert raw not in out, (raw, out[:2000])
    for form in visible_forms:
        assert form in out, form
    return out


def _no_fake_rows(out: str) -> None:
    """A newline inside a name never starts a line of its own."""
    assert not any(line.lstrip("|+ ").startswith("Fake  row") for line in out.splitlines())


def test_services_table_shows_names_as_data(runner: CliRunner, hostile: Path) -> None:
    result = runner.invoke(app, ["services", str(hostile), "-q"], env={"COLUMNS": "300"})
    out = _plain_ok(
        result,
        "[/bogus]",
        "..[/x]",
        "[bold red]Styled",
        "[link=https://evil.example]Click",
        "Esc\\x1b[31mRed",
        "Title\\x1b]0;pwned\\x07",
        "Clear\\x1b[2J",
        "Line\\nFake  row",
        "Cr\\rOver",
        "Nul\\x00Hidden",
        "Bidi\\u202eexe.txt",
        ":warning: emoji",
    )
    _no_fake_rows(out)


def test_services_on_a_terminal_keeps_styles_but_no_sequence_from_the_hive(runner: CliRunner, hostile: Path) -> None:
    """On a terminal hivescan colours rows itself; nothing the hive holds becomes a sequence:
    no clear-screen, no title change, no bell, no hyperlink (OSC 8)."""
    result = runner.invoke(
        app, ["services", str(hostile), "-q"], env={"FORCE_COLOR": "1", "COLUMNS": "300", "TERM": "xterm-256color"}
    )
    out = result.stdout
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" in out  # the terminal path really ran (rich's own styles)
    for sequence in ("\x1b[2J", "\x1b]0;", "\x07", "\x1b]8;", "\r", "\x1b[31mRed"):
        assert sequence not in out, sequence
    assert "Esc\\x1b[31mRed" in out and "[link=https://evil.example]Click" in out


@pytest.mark.parametrize("name", ["[/bogus]", "[link=https://evil.example]Click", "Esc\x1b[31mRed", "Line\nFake  row"])
def test_show_renders_markup_and_escapes_as_text(runner: CliRunner, hostile: Path, name: str) -> None:
    result = runner.invoke(app, ["show", str(hostile), name, "-q"], env={"COLUMNS": "300"})
    out = _plain_ok(result, "[bold red]Disp ", "[link=https://evil.example]x[/link]", visible(name))
    _no_fake_rows(out)


def test_show_on_a_terminal_makes_no_link_and_no_style_from_the_display_name(runner: CliRunner, hostile: Path) -> None:
    result = runner.invoke(app, ["show", str(hostile), "[/bogus]", "-q"], env={"FORCE_COLOR": "1", "COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    assert "\x1b]8;" not in result.stdout  # OSC 8: a clickable hyperlink
    assert "[link=https://evil.example]x[/link]" in result.stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "html", "jsonl", "json"])
def test_scan_every_format(runner: CliRunner, hostile: Path, tmp_path: Path, fmt: str) -> None:
    out_file = tmp_path / f"scan.{fmt}"
    result = runner.invoke(app, ["scan", str(hostile), "-f", fmt, "-o", str(out_file), "-q"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    text = out_file.read_text(encoding="utf-8")
    if fmt in ("jsonl", "json"):  # exact: control characters JSON-escaped, nothing changed
        assert "\\u001b[31mRed" in text and "\x1b" not in text
        return
    for raw in RAW:
        assert raw not in text, raw
    assert "Esc\\x1b[31mRed" in text
    if fmt == "html":
        assert "<b>[/bogus]" not in text and "&lt;" not in FORMULA
        assert "[link=https://evil.example]Click" in text


def test_explain_rules_list_and_stderr(runner: CliRunner, hostile: Path, tmp_path: Path) -> None:
    saved = tmp_path / "f.jsonl"
    assert runner.invoke(app, ["scan", str(hostile), "-f", "jsonl", "-o", str(saved), "-q"]).exit_code == 0
    _plain_ok(runner.invoke(app, ["explain", str(saved)]), "Esc\\x1b[31mRed", "Title\\x1b]0;pwned\\x07")
    _plain_ok(runner.invoke(app, ["rules", "list"]))


def test_rules_list_shows_rule_text_as_data(runner: CliRunner, tmp_path: Path) -> None:
    """Rules may come from any folder (--rules): their titles are data too."""
    import shutil

    from hivescan.detect.rules import default_rules_dir

    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    rule = sorted(folder.rglob("*.yaml"))[0]
    text = rule.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    rule.write_text(text.replace(title, 'title: "Evil \\e[2J[bold]title\\a"'), encoding="utf-8")
    result = runner.invoke(app, ["rules", "list", "--rules", str(folder)])
    _plain_ok(result, "Evil \\x1b[2J[bold]title\\x07")


def test_csv_neutralises_formulas_and_shows_controls(runner: CliRunner, hostile: Path) -> None:
    result = runner.invoke(app, ["services", str(hostile), "-f", "csv", "-q"])
    _plain_ok(result)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all(row["description"] == "'" + FORMULA for row in rows)
    assert all(row["object_name"] == "'@evil" for row in rows)
    assert {row["name"] for row in rows} >= {"Esc\\x1b[31mRed", "Line\\nFake  row"}
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_json_keeps_the_exact_names(runner: CliRunner, hostile: Path) -> None:
    result = runner.invoke(app, ["services", str(hostile), "-f", "jsonl", "-q"])
    names = {json.loads(line)["name"] for line in result.stdout.splitlines()}
    assert set(HOSTILE) <= names


@pytest.mark.parametrize(
    "args",
    [
        ["boot-plan"],
        ["boot-plan", "-f", "csv"],
        ["history"],
        ["history", "-f", "csv"],
        ["info"],
        ["diff", "-c", "1", "--against-control-set", "2"],
    ],
)
def test_other_commands(runner: CliRunner, hostile: Path, args: list[str]) -> None:
    """Titles and summaries name the hive file: its name is data too (here a file named
    with a clear-screen sequence and markup)."""
    named = hostile.rename(hostile.with_name("SYS\x1b[2J[bold]TEM"))
    command = [args[0], str(named), *args[1:]]
    result = runner.invoke(app, command, env={"COLUMNS": "300"})
    _plain_ok(result)


def test_diff_of_two_hives_shows_changed_values_as_data(runner: CliRunner, hostile: Path, tmp_path: Path) -> None:
    other = _hive(tmp_path / "OTHER", "Changed\x1b[2J")
    result = runner.invoke(app, ["diff", str(hostile), str(other), "-q"], env={"COLUMNS": "300"})
    out = _plain_ok(result, "Changed\\x1b[2J", "[link=https://evil.example]x[/link]", "[/bogus]")
    _no_fake_rows(out)
    csv_result = runner.invoke(app, ["diff", str(hostile), str(other), "-q", "-f", "csv"])
    _plain_ok(csv_result, "Changed\\x1b[2J")


def test_triage_summary(runner: CliRunner, hostile: Path, tmp_path: Path) -> None:
    """`..[/x]` made triage exit 70 at its summary table."""
    result = runner.invoke(
        app, ["triage", str(hostile), "-o", str(tmp_path / "out"), "-j", "1", "-q"], env={"COLUMNS": "300"}
    )
    _plain_ok(result, "..[/x]", "Esc\\x1b[31mRed")


def test_warnings_on_stderr_are_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    from hivescan.cli.common import _err

    _err("warning: some_code: key ControlSet001\\Services\\Clear\x1b[2J\nFake: broken")
    err = capsys.readouterr().err
    assert err == "hivescan: warning: some_code: key ControlSet001\\Services\\Clear\\x1b[2J\\nFake: broken\n"


def test_triage_help_keeps_bracketed_words(runner: CliRunner) -> None:
    text = " ".join(runner.invoke(app, ["triage", "--help"]).stdout.split())
    assert "[images]" in text and "hivescan[scale]" in text


# ---------------------------------------------------------------- the helpers, as properties


@given(st.text())
def test_visible_leaves_no_control_character(value: str) -> None:
    shown = visible(value)
    for ch in shown:  # controls, line separators, lone surrogates, direction overrides
        assert unicodedata.category(ch) not in ("Cc", "Zl", "Zp", "Cs"), repr(ch)
        assert not ("\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069"), repr(ch)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_visible_changes_no_printable_text(value: str) -> None:
    assert visible(value) == value


@given(st.text())
def test_csv_cell_is_never_a_formula(value: str) -> None:
    cell = csv_cell(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.endswith(visible(value)) and len(cell) - len(visible(value)) in (0, 1)


@given(st.text())
def test_html_text_has_no_markup(value: str) -> None:
    shown = html_text(value)
    assert "<" not in shown and ">" not in shown and '"' not in shown


def test_paths_print_as_windows_writes_them() -> None:
    assert shown_path("C:\\Windows\\System32\\drivers\\x.sys") == "C:\\Windows\\System32\\drivers\\x.sys"
    assert shown_path(Path("/cases/SYSTEM")) == "/cases/SYSTEM"
    assert shown_path("C:\\Temp\\a\x1bb") == "C:\\Temp\\a\\x1bb"


# ---------------------------------------------------------------- tables fit the terminal


@pytest.mark.parametrize("width", [60, 80, 120])
def test_findings_table_fits_and_keeps_rule_ids_whole(runner: CliRunner, width: int) -> None:
    """At 80 columns the table used to crop columns and its border; at 120 rule ids broke
    mid-word; piped output was forced to about 160 columns with box-drawing characters."""
    ids = {
        json.loads(line)["rule_id"] for line in runner.invoke(app, ["demo", "-q", "-f", "jsonl"]).stdout.splitlines()
    }
    result = runner.invoke(app, ["demo", "-q"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    # plain: no styling, ASCII borders (box-drawing characters are U+2500-U+257F)
    assert not any("\x1b" in line or any("\u2500" <= ch <= "\u257f" for ch in line) for line in lines)
    body = result.stdout
    assert ids and not [rule for rule in ids if rule not in body]
    rows = [line for line in lines if line.startswith("|")]
    assert rows and all(line.endswith("|") for line in rows)  # the right border is not cropped


@pytest.mark.parametrize("width", [80, 120])
def test_services_table_fits(runner: CliRunner, hostile: Path, width: int) -> None:
    result = runner.invoke(app, ["services", str(hostile), "-q"], env={"COLUMNS": str(width)})
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    assert all(line.endswith("|") for line in lines if line.startswith("|"))
    assert "…" not in result.stdout  # folded onto more lines, never cut to an ellipsis


def test_images_inventory_shows_names_from_the_image_as_data() -> None:
    """Volume names and file paths in a disk image are attacker-controlled too."""
    from hivescan.diagnostics import Diagnostic
    from hivescan.hive.images import ImageFile, ImageInventory, ImageVolume, WindowsInstallation
    from hivescan.render.images import print_inventory
    from hivescan.render.safe import console_for

    inventory = ImageInventory(
        path="/cases/disk\x1b[2J.E01",
        format="ewf",
        media_size=1 << 30,
        volumes=(ImageVolume("p1", "ok", volume_name="[/bogus]\x1b]0;t\x07", filesystem="NTFS"),),
        installations=(
            WindowsInstallation(
                1,
                "p1",
                "\\Windows",
                (ImageFile(1, "system", "live", "p1", "\\Windows\\System32\\config\\SYS\nTEM", 10, None, "ab"),),
            ),
        ),
        diagnostics=(Diagnostic("image_note", "", "volume [link=https://evil.example]x\x1b[31m", "warning"),),
    )
    buffer = io.StringIO()
    print_inventory(inventory, console_for(buffer, width=200))
    out = buffer.getvalue()
    for raw in RAW:
        assert raw not in out
    for form in (
        "disk\\x1b[2J.E01",
        "[/bogus]\\x1b]0;t\\x07",
        "config\\SYS\\nTEM",
        "[link=https://evil.example]x\\x1b[31m",
    ):
        assert form in out, form


def test_piped_output_takes_the_width_of_the_terminal_the_user_sits_at(tmp_path: Path) -> None:
    """`hivescan services HIVE | less`: stdout is a pipe, stderr still the terminal: the
    table is as wide as that terminal (here 90 columns), not a forced 160, and plain."""
    import fcntl
    import os
    import struct
    import subprocess
    import sys
    import termios

    hive = _hive(tmp_path / "SYSTEM", "Disp")
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 90, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
        result = subprocess.run(
            [sys.executable, "-m", "hivescan", "services", str(hive), "-q"],
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0
    assert "\x1b" not in out
    assert max(len(line) for line in out.splitlines()) == 90


def test_real_hive_with_hostile_services(runner: CliRunner, tmp_path: Path) -> None:
    """The same names added to a copy of the real Windows 7 hive by another registry
    library (hivex): services, show, scan, diff against the pristine hive, triage."""
    from tests.conftest import shared_hive, shared_hive_edited_by_hivex

    names = ["[/bogus]", "..[/x]", "Esc\x1b[31mRed", "Clear\x1b[2J"]
    script = []
    for name in names:
        script += ["cd \\ControlSet001\\Services", f"add {name}", f"cd {name}", "setval 5"]
        script += ["Type", "dword:0x10", "Start", "dword:2", "ErrorControl", "dword:1"]
        script += ["ImagePath", f"expandstring:C:\\Users\\Public\\{name}.exe"]
        script += ["DisplayName", "string:[bold red]x[/] [link=https://evil.example]y\x1b]0;t\x07"]
    script.append("commit")
    hive = shared_hive_edited_by_hivex("win7-SYSTEM", tmp_path, "\n".join(script) + "\n")
    env = {"COLUMNS": "200"}
    shown = [visible(n) for n in names]
    _plain_ok(runner.invoke(app, ["services", str(hive), "-q"], env=env), *shown)
    for name in names:
        _plain_ok(
            runner.invoke(app, ["show", str(hive), name, "-q"], env=env),
            "[bold red]x[/] [link=https://evil.example]y\\x1b]0;t\\x07",
        )
    _plain_ok(runner.invoke(app, ["scan", str(hive), "-q"], env=env), "Esc\\x1b[31mRed")
    _plain_ok(runner.invoke(app, ["diff", shared_hive("win7-SYSTEM").as_posix(), str(hive), "-q"], env=env), *shown)
    _plain_ok(runner.invoke(app, ["triage", str(hive), "-o", str(tmp_path / "t"), "-j", "1", "-q"], env=env))


def test_info_shows_computer_name_and_windows_version_as_data(runner: CliRunner, tmp_path: Path) -> None:
    """`info` printed the ComputerName and the SOFTWARE hive's ProductName/EditionID as rich
    Text without making them visible: an ESC sequence there reached the terminal."""
    system = WKey("ROOT")
    system.key("Select").set_dword("Current", 1).set_dword("Default", 1)
    control = system.key("ControlSet001\\Control")
    control.key("ComputerName\\ComputerName").set_sz("ComputerName", "PC\x1b[2J[bold]X\x07")
    control.key("Services").subkeys.append(_service("Svc", "Svc"))
    (tmp_path / "SYSTEM").write_bytes(HiveWriter(system).build().data)
    software = WKey("ROOT")
    current = software.key("Microsoft\\Windows NT\\CurrentVersion")
    current.set_sz("CurrentBuild", "19045").set_dword("CurrentMajorVersionNumber", 10)
    current.set_dword("CurrentMinorVersionNumber", 0).set_sz("ProductName", "Win\x1b]0;title\x07dows")
    current.set_sz("EditionID", "Pro\x1b[31m").set_sz("DisplayVersion", "22H2\u202e")
    (tmp_path / "SOFTWARE").write_bytes(HiveWriter(software).build().data)
    result = runner.invoke(
        app,
        ["info", str(tmp_path / "SYSTEM"), "--software", str(tmp_path / "SOFTWARE")],
        env={"COLUMNS": "300"},
    )
    _plain_ok(result, "PC\\x1b[2J[bold]X\\x07", "Pro\\x1b[31m")


@pytest.mark.parametrize("width", [80, 120])
def test_findings_table_header_is_not_cropped(runner: CliRunner, hostile: Path, width: int) -> None:
    """With only "medium" findings the severity column was sized to its values (6) and its
    header was cropped to "severi" at 80 columns (the demo hides it: it has "critical")."""
    result = runner.invoke(app, ["scan", str(hostile), "-q"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    header = [line for line in result.stdout.splitlines() if line.startswith("|") and "service" in line]
    assert header and "severity" in header[0], header
    assert max(len(line) for line in result.stdout.splitlines()) <= width


@pytest.mark.parametrize("width", [120, 160])
def test_services_notes_keep_diagnostic_codes_whole(runner: CliRunner, hostile: Path, width: int) -> None:
    """The notes column folded "image_module_guessed," into "image_module_guess" / "ed," at
    120 columns: codes are ids (what an analyst greps for), listed one per line, whole (below
    about 90 columns they fold like the rest, so that names and paths keep some width)."""
    result = runner.invoke(app, ["services", str(hostile), "-q"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    codes = {
        d["code"]
        for line in runner.invoke(app, ["services", str(hostile), "-q", "-f", "jsonl"]).stdout.splitlines()
        for d in json.loads(line)["diagnostics"]
        if d["level"] != "info"
    }
    assert codes
    cells = {cell.strip() for line in result.stdout.splitlines() for cell in line.split("|")}
    assert codes <= cells, codes - cells
    assert max(len(line) for line in result.stdout.splitlines()) <= width


def test_explanations_escape_a_newline_as_the_name_column_does(runner: CliRunner, hostile: Path) -> None:
    """The CSV's service column showed `Line\\nFake  row` and its explanation, quoting the same
    name, `Line\\x0aFake  row`: one escaping everywhere."""
    result = runner.invoke(app, ["scan", str(hostile), "-f", "csv", "-q"])
    assert result.exit_code == 0, result.stderr
    rows = [row for row in csv.DictReader(io.StringIO(result.stdout)) if row["service"] == "Line\\nFake  row"]
    assert rows and all("Line\\nFake  row" in row["explanation"] for row in rows)
    assert "\\x0a" not in result.stdout and "\\x0d" not in result.stdout


def test_the_report_escapes_by_the_shared_rule_keeping_only_its_line_breaks() -> None:
    """One escaping rule for every renderer: the report's esc() is textsafe.visible (with the
    format characters it had missed, U+200E/U+200F/U+061C/U+FEFF) plus html.escape; only its
    multi-line blocks keep newlines and tabs."""
    from hivescan.render.report.text import esc
    from hivescan.textsafe import visible

    hostile = "a\x1b[2Jb\u202e\u200f\ufeff<script>\n\tc"
    assert esc(hostile) == "a\\x1b[2Jb\\u202e\\u200f\\ufeff&lt;script&gt;\n\tc"
    assert visible(hostile, keep_layout=True).replace("\n", "\\n").replace("\t", "\\t") == visible(hostile)
