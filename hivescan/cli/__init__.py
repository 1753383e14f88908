"""The ``hivescan`` command: a thin Typer layer over the library, one module per command group.

Each command makes one library call and one render call; what they share (options, checks,
error handling) is in :mod:`hivescan.cli.common`. Importing the command modules registers
their commands on :data:`app`, in the order ``--help`` lists them.
"""

from __future__ import annotations

# The order of these imports is the order `hivescan --help` lists the commands.
# isort: off
from hivescan.cli import hive  # noqa: F401
from hivescan.cli import findings  # noqa: F401
from hivescan.cli import compare  # noqa: F401
from hivescan.cli import images  # noqa: F401
from hivescan.cli import triage  # noqa: F401
from hivescan.cli import events  # noqa: F401

# isort: on
from hivescan.cli.common import app, exit_cleanly_on_termination

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    exit_cleanly_on_termination()
    app()
