"""Installed service names stacked across hosts: how many computers' logs installed each name.

Why: in a fleet, an install name seen on one or two computers (a random remote-execution
name, a tool pushed to a few hosts) stands out against names every host installs (drivers,
agents). Hosts are the events' ``computer`` (short name, upper case), since logs collected in
bulk are not always next to their hive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hivescan.events.logs import EventLog
from hivescan.events.rows import with_key_names

INSTALL_IDS = frozenset({7045, 4697})


def host_of(computer: str) -> str:
    """``jump01.offsec.lan`` -> ``JUMP01``."""
    return computer.split(".", 1)[0].upper()


def stack_installs(logs: Sequence[EventLog], host_names_max: int = 20) -> list[dict[str, Any]]:
    """One row per installed service name (case-insensitive), rarest first: how many hosts,
    which (up to ``host_names_max``), how many installs, the ImagePaths logged."""
    by_name: dict[str, dict[str, Any]] = {}
    for log in logs:
        for event in with_key_names(log.events):  # 7045 logs the display name: the key name when known
            if event.event_id not in INSTALL_IDS:
                continue
            name = event.service_name or event.display_name or ""
            row = by_name.setdefault(
                name.upper(), {"service_name": name, "hosts": set(), "installs": 0, "paths": set()}
            )
            row["hosts"].add(host_of(event.computer) if event.computer else "?")
            row["installs"] += 1
            if event.image_path:
                row["paths"].add(event.image_path)
    out = []
    for row in by_name.values():
        hosts = sorted(row["hosts"])
        out.append(
            {
                "service_name": row["service_name"],
                "hosts": len(hosts),
                "host_names": hosts[:host_names_max],
                "installs": row["installs"],
                "image_paths": sorted(row["paths"]),
            }
        )
    out.sort(key=lambda r: (r["hosts"], r["service_name"].upper()))
    return out
