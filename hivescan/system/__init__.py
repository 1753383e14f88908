"""A SYSTEM hive opened for analysis: the object the CLI and notebooks share.

``open_hive(path)`` -> :class:`SystemHive` with ``info()``, ``services()`` and
``services_frame()``. It joins the stages (hive -> control set -> service database) and
knows nothing of findings or output formats.
"""

from hivescan.scm.controlsets import parse_mode
from hivescan.system.hive import SystemHive
from hivescan.system.info import ControlSetInfo, HiveInfo
from hivescan.system.opening import open_hive
from hivescan.system.software import open_software

__all__ = ["ControlSetInfo", "HiveInfo", "SystemHive", "open_hive", "open_software", "parse_mode"]
