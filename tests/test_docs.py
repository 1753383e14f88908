"""Documentation that cannot rot: every diagnostic code and CLI command is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_EMITTERS = {"Diagnostic", "_note", "_hive_note", "_note_once", "info", "warning", "error", "diag"}


def diagnostic_codes_in_source() -> dict[str, str]:
    """code -> first file emitting it (literal first arguments of diagnostic constructors)."""
    codes: dict[str, str] = {}
    for path in sorted((ROOT / "hivescan").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if (  # cell-reader notes: notes.append(f"code: message")
                name == "append"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "notes"
            ):
                head = first.values[0] if isinstance(first, ast.JoinedStr) and first.values else first
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    match = re.match(r"([a-z][a-z0-9]*_[a-z0-9_]+): ", head.value)
                    if match:
                        codes.setdefault(match.group(1), str(path.relative_to(ROOT)))
                continue
            if (
                name in _EMITTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and re.fullmatch(r"[a-z][a-z0-9_]+", first.value)
            ):
                codes.setdefault(first.value, str(path.relative_to(ROOT)))
    return codes


def documented_codes() -> set[str]:
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.MULTILINE))


def test_every_diagnostic_code_is_documented() -> None:
    missing = {c: f for c, f in diagnostic_codes_in_source().items() if c not in documented_codes()}
    assert not missing, f"add these codes to docs/diagnostics.md: {missing}"


def test_no_stale_diagnostic_codes_in_the_docs() -> None:
    stale = documented_codes() - set(diagnostic_codes_in_source())
    assert not stale, f"documented but never emitted: {sorted(stale)}"


def test_cli_reference_is_current() -> None:
    from hivescan.clidoc import render

    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render(), "docs/cli.md is stale: run `python -m hivescan.clidoc > docs/cli.md`"


def test_every_command_appears_in_the_readme() -> None:
    from hivescan.clidoc import command_names

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in command_names() if name not in readme]
    assert not missing, f"document these commands in README.md: {missing}"


def test_every_command_summary_is_one_line() -> None:
    """`hivescan --help` lists each command by the first paragraph of its docstring, keeping
    its line breaks: a summary wrapped in the source comes out broken in the list."""
    import typer.main

    def commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for name, command in group.commands.items():
            out.append((prefix + name, command))
            if hasattr(command, "commands"):  # a group (typer ships its own click)
                out += commands(command, f"{prefix}{name} ")
        return out

    from hivescan.cli import app

    root = typer.main.get_command(app)
    wrapped = [name for name, command in commands(root) if "\n" in (command.help or "").strip().split("\n\n")[0]]
    assert not wrapped, f"make the first paragraph of these commands' docstrings one line: {wrapped}"
