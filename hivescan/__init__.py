"""hivescan: rebuild the Windows service database from offline SYSTEM hives, and find persistence.

The public surface for notebooks and scripts::

    import hivescan
    with hivescan.open_hive("SYSTEM") as hive:
        hive.info()
        hive.services(control_set="all")      # ServiceRecord dataclasses
        hive.services_frame()                  # pandas DataFrame

Importing hivescan does not import pandas (the CLI starts fast); frames are built on demand.
"""

from __future__ import annotations

from hivescan.diagnostics import Diagnostic
from hivescan.errors import HiveError, HivescanError
from hivescan.hive.source import HiveSource
from hivescan.scm.record import Origin, ServiceRecord
from hivescan.system import HiveInfo, SystemHive, open_hive

__version__ = "0.1.0"

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
