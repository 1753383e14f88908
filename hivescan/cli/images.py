"""What a disk image holds, before any analysis."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hivescan.cli.common import QuietOpt, _warn_hive, app, handle_errors
from hivescan.errors import ExitCode


@app.command()
@handle_errors
def images(
    image: Annotated[
        Path,
        typer.Argument(help="disk image: E01, raw/dd, VMDK, VHD, VHDX, QCOW2", show_default=False, metavar="IMAGE"),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    quiet: QuietOpt = False,
) -> None:
    """List what a disk image holds: volumes, shadow copies, Windows installations, hives, logs.

    Each hive and log found is listed with its path, size and sha256, before any analysis.

    Example: hivescan images disk.E01 -f json
    """
    from hivescan.hive.images import image_inventory
    from hivescan.render.formats import dumps, stamped
    from hivescan.render.images import print_inventory
    from hivescan.render.safe import console_for

    if fmt.lower() not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    inventory = image_inventory(image)
    _warn_hive(list(inventory.diagnostics), quiet)
    if fmt.lower() == "json":
        sys.stdout.write(dumps(stamped(inventory.to_dict())) + "\n")
    else:
        print_inventory(inventory, console_for())
    if not inventory.installations:
        raise typer.Exit(int(ExitCode.IMAGE_ERROR))
