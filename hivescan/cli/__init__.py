"""The ``hivescan`` command: a thin Typer layer over the library, one module per command group.

Each command makes one library call and one render call; what they share (options, checks,
error handling) is in :mod:`hivescan.cli.common`. Importing the command modules registers
their commands on :data:`app`, in the order ``--help`` lists them.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
from hivescan.quickexit import end_process

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point.

    When this process is the ``hivescan`` command itself, it ends without the interpreter's
    teardown of every module (:func:`hivescan.quickexit.end_process`: threads joined, atexit
    handlers run and output flushed first; 75-110 ms less at the end of a triage run). A
    program that calls ``main()`` gets its ``SystemExit`` as before."""
    exit_cleanly_on_termination()
    try:
        app()
    except SystemExit as exc:
        if not is_the_command() or sys.getprofile() is not None:  # a profiler writes its results at the end
            raise
        end_process(exc.code)


def is_the_command() -> bool:
    """Whether this process runs the ``hivescan`` command: ``python -m hivescan`` or the
    ``hivescan`` console script is its main module (not a script or test calling :func:`main`)."""
    entry = sys.modules.get("__main__")
    spec = getattr(entry, "__spec__", None)
    if spec is not None and spec.name == "hivescan.__main__":
        return True
    return Path(getattr(entry, "__file__", None) or "").name in ("hivescan", "hivescan.exe", "hivescan-script.py")
