"""hivescan: rebuild the Windows service database from offline SYSTEM hives, and find persistence.

The public surface for notebooks and scripts::

    import hivescan
    with hivescan.open_hive("SYSTEM") as hive:
        hive.info()
        hive.services(control_set="all")      # ServiceRecord dataclasses
        hive.services_frame()                  # pandas DataFrame

The names below are loaded on first use (PEP 562), not when the package is imported: every
``hivescan.<module>`` import runs this file first, and the CLI's start (``hivescan triage``
imports no hive reader in its own process) would otherwise pay for the whole rebuild
(``system``: every ``scm`` module, the backends) before its work starts. Importing hivescan
does not import pandas either; frames are built on demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hivescan.lazy import load_public

if TYPE_CHECKING:
    from hivescan.diagnostics import Diagnostic
    from hivescan.errors import HiveError, HivescanError
    from hivescan.hive.source import HiveSource
    from hivescan.scm.record import Origin, ServiceRecord
    from hivescan.system import HiveInfo, SystemHive, open_hive

__version__ = "0.1.0"

_PUBLIC = {  # name -> the module that defines it
    "Diagnostic": "hivescan.diagnostics",
    "HiveError": "hivescan.errors",
    "HiveInfo": "hivescan.system",
    "HiveSource": "hivescan.hive.source",
    "HivescanError": "hivescan.errors",
    "Origin": "hivescan.scm.record",
    "ServiceRecord": "hivescan.scm.record",
    "SystemHive": "hivescan.system",
    "open_hive": "hivescan.system",
}

__all__ = [
    "Diagnostic",
    "HiveError",
    "HiveInfo",
    "HiveSource",
    "HivescanError",
    "Origin",
    "ServiceRecord",
    "SystemHive",
    "__version__",
    "open_hive",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (then cached in the package)."""
    return load_public(__name__, _PUBLIC, globals(), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
