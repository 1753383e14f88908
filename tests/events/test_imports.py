"""One direction of flow: the event-log source knows nothing of later stages; the join knows
the service database but not detection, rendering or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "hivescan" / "events"
LATER = ("hivescan.detect", "hivescan.render", "hivescan.cli", "hivescan.triage", "hivescan.catalog")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_events_source_imports_no_later_stage() -> None:
    for path in EVENTS.glob("*.py"):
        imported = _imports(path)
        later = {name for name in imported if name.startswith(LATER)}
        assert not later, f"{path.name} imports {later}"
        if path.name != "join.py":  # the join is the pass after the service database
            assert not {n for n in imported if n.startswith(("hivescan.scm", "hivescan.system"))}, path.name
