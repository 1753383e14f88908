"""Where detection and disk images plug into ``hivescan triage``.

* :func:`analyser` -- the analysis step each worker runs on a hive's records: the detection
  rules and catalogs (:mod:`hivescan.detect`), one row of
  :data:`~hivescan.triage.schema.FINDINGS_SCHEMA` per finding, with ``finding_json`` holding the
  finding's complete JSONL object (so ``hivescan explain`` can reload it).
* :func:`container_readers` -- readers of files that hold hives: disk images
  (:mod:`hivescan.hive.images`; the ``[images]`` extra). Each Windows installation's SYSTEM
  hive is listed, live and in every snapshot (RegBack, shadow copies), and opened with the
  transaction logs found next to it in the image.

The CLI calls these two functions and nothing else decides what runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.triage.inputs import ContainerReader, HiveInput
from hivescan.triage.scan import Analyser

if TYPE_CHECKING:  # annotations only: the triage parent imports this module and reads no hive
    from hivescan.events.logs import EventLog
    from hivescan.hive.source import HiveSource
    from hivescan.scm.record import ServiceRecord
    from hivescan.system import SystemHive


@cache
def worker_engine() -> Any:
    """The rules compiled once per worker process, remembering verdicts across its hives
    (stock services repeat from host to host: hivescan/detect/verdicts.py)."""
    from hivescan.detect.engine import Engine
    from hivescan.detect.rules import load_rules

    return Engine(load_rules(), remember=True)


@dataclass(frozen=True, slots=True)
class RulesAnalyser:
    """The shipped rules and catalogs over one hive's records (all its control sets)."""

    name: str = "rules"

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]:
        from hivescan.detect.scan import analyse_records

        current = hive.resolve("current").chosen
        findings, _, _, _ = analyse_records(
            records,
            engine=worker_engine(),
            primary_set=current[0].number if current else None,
            windows=hive.windows_version(),
        )
        rows = []
        for finding in findings:
            origin = finding.origin
            rows.append(
                {
                    "host": host,
                    "hive_path": origin.hive_path,
                    "hive_sha256": origin.hive_sha256,
                    "rule_id": finding.rule_id,
                    "title": finding.title,
                    "severity": finding.severity,
                    "attack": list(finding.attack),
                    "service": finding.service,
                    "control_set": finding.control_set,
                    "key_path": origin.key_path,
                    "last_write": origin.last_write_datetime,
                    "finding_json": json.dumps(finding.to_dict(), ensure_ascii=True, default=str),
                }
            )
        return rows


@dataclass(frozen=True, slots=True)
class DiskImageReader:
    """SYSTEM hives inside disk images (E01, raw, VMDK, VHD/VHDX, QCOW2), via dfvfs.

    A member is ``<installation>:<snapshot>``, e.g. ``1:live`` or ``1:vss2``.
    """

    name: str = "disk-image"

    def claims(self, path: Path, head: bytes) -> bool:
        from hivescan.hive.images import input_kind

        try:
            return input_kind(path) == "image"
        except OSError:
            return False

    def list_hives(self, path: Path) -> list[HiveInput]:
        from hivescan.hive.images import open_image

        out = []
        with open_image(path) as image:
            for number, _installation in enumerate(image.installations, start=1):
                for source in image.snapshot_sources(number):
                    snapshot = source.location.get("snapshot", "live")
                    out.append(HiveInput(str(path), f"{number}:{snapshot}", self.name))
        return out

    def _member(self, item: HiveInput) -> tuple[int, str]:
        install, _, snapshot = item.member.partition(":")
        return int(install), snapshot or "live"

    def open(self, item: HiveInput) -> HiveSource:
        from hivescan.hive.images import open_image

        install, snapshot = self._member(item)
        with open_image(item.path) as image:
            return image.system_source(install, snapshot)

    def read_event_logs(self, item: HiveInput) -> tuple[list[EventLog], list[Diagnostic]]:
        """The service logs of the member's own snapshot: for ``live``, the live volume's and
        every shadow copy's (as ``hivescan scan IMAGE`` reads them); for ``vssN``, that shadow
        copy's only (the logs as they were then); for ``regback``, none (a hive copy alone)."""
        from hivescan.events.found import read_found_logs
        from hivescan.hive.images import open_image
        from hivescan.volumes import image_log_locations

        install, snapshot = self._member(item)
        with open_image(item.path) as image:
            locations = image_log_locations(image, image.file(install, snapshot, "system"))
            if snapshot != "live":
                locations = [location for location in locations if location.snapshot == snapshot]
            return read_found_logs(locations)

    def open_logs(self, item: HiveInput) -> list[HiveSource]:
        """The hive's .LOG1/.LOG2 inside the image (a member has no file next to it)."""
        from hivescan.hive.images import open_image

        install, snapshot = self._member(item)
        with open_image(item.path) as image:
            return image.log_sources(install, snapshot)


def analyser() -> Analyser:
    """The analysis step of ``hivescan triage``: the detection rules."""
    return RulesAnalyser()


def container_readers() -> tuple[ContainerReader, ...]:
    """Readers of disk images (they need the ``[images]`` extra when an image is met)."""
    return (DiskImageReader(),)
