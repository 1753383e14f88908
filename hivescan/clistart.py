"""What ``hivescan`` does before it imports its CLI: start a triage run's worker pool.

Why: a local pool's forkserver preloads what every worker needs (hivescan/triage/preload.py),
the longest serial step of a run's start, and no worker runs before it ends. The triage
command used to start it once Typer had parsed the arguments: after importing the CLI (all
its commands) and coercing the options (Typer builds a pydantic adapter per option), about
0.1 s of a core during which the other core had nothing to do. Here, when the arguments
plainly ask for a triage with a local pool of more than one worker (:func:`early_pool_jobs`),
the forkserver starts first and preloads while this process imports and parses; the command
finds it running (``start_local_pool`` and ``local_executor`` start one only when none is).

Reading the arguments here is only a guess at what Typer will parse, and nothing depends on
it: a wrong "yes" starts a forkserver nobody uses (it exits with this process), a wrong "no"
starts it where it always started. The output is the command's alone.

It is also the console script's entry point: a pool worker of a script-started run imports
the script's main module (multiprocessing's spawn preparation), which is now this small
module instead of the whole CLI.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

TRIAGE = "triage"
HELP = frozenset({"-h", "--help"})  # the app's help_option_names (hivescan/cli/common.py)


def early_pool_jobs(args: Sequence[str], cores: int) -> int | None:
    """The workers of the local pool ``hivescan ARGS`` will start, or None when it plainly
    starts none (not a triage, --dask, --help, one job) or the arguments are unclear."""
    if not args or args[0] != TRIAGE:
        return None
    jobs: str | None = None
    rest = list(args[1:])
    for i, token in enumerate(rest):
        if token == "--":
            break  # inputs only from here
        if token in HELP or token == "--dask" or token.startswith("--dask="):
            return None
        if token in ("--jobs", "-j"):
            if i + 1 >= len(rest):
                return None
            jobs = rest[i + 1]
        elif token.startswith("--jobs="):
            jobs = token[len("--jobs=") :]
        elif token.startswith("-j") and len(token) > 2:
            jobs = token[2:]
    if jobs is None:
        workers = cores
    elif jobs.isascii() and jobs.isdigit():
        workers = int(jobs)
    else:
        return None
    return workers if workers > 1 else None


def main() -> None:
    """Console-script and ``python -m hivescan`` entry point: the pool first, then the CLI."""
    from hivescan.triage.engines import default_jobs, start_local_pool

    jobs = early_pool_jobs(sys.argv[1:], default_jobs())
    if jobs is not None:
        start_local_pool(jobs)
    from hivescan.cli import main as cli_main

    cli_main()
