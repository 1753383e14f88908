"""How triage scans each hive: :class:`ScanOptions` and the analysis step's seam (:class:`Analyser`).

The analysis step is the seam where findings plug in: an :class:`Analyser` turns a hive's
records into finding rows (the columns of :data:`~hivescan.triage.schema.FINDINGS_SCHEMA`).
:class:`NoAnalysis` produces no findings and says so (``analyser = "none"`` in the hives
dataset). Everything here is picklable: it is sent with every batch to the workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hivescan.scm.record import ServiceRecord
from hivescan.triage.inputs import ContainerReader

if TYPE_CHECKING:
    from hivescan.system import SystemHive


class Analyser(Protocol):
    """The analysis step of triage: records of one hive -> finding rows.

    Must be picklable (a module-level class instance) and pure: it runs in workers. Rows
    use the columns of ``FINDINGS_SCHEMA``; ``host``, ``hive_path`` and ``hive_sha256``
    are filled in by triage when absent.
    """

    @property
    def name(self) -> str:
        """Recorded in the hives dataset (``analyser``); ``none`` means no detection ran."""
        ...

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class NoAnalysis:
    """No detection engine connected: no findings, and the hives rows say ``analyser = "none"``."""

    name: str = "none"

    def __call__(
        self, hive: SystemHive, records: Sequence[ServiceRecord], host: str | None
    ) -> Sequence[Mapping[str, Any]]:
        return ()


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How to scan each hive; picklable, sent with every batch."""

    control_set: str | int = "current"
    lenient: bool = False
    backend: str = "regipy-rs"
    analyse: Analyser = field(default_factory=NoAnalysis)
    readers: tuple[ContainerReader, ...] = ()
    logs: bool = True  # replay the transaction logs of dirty hives (next to the file, or inside the image)
    deleted: bool = False  # also the service keys recovered from free cells (a scan of the whole hive)
    # inputs already done (resume), as (path, member, sha256): read and hashed, not rebuilt; the same
    # content under another path is scanned again, so every input path has its own row
    skip_done: frozenset[tuple[str, str, str]] = frozenset()
    run_id: str = ""
    files: bool = True  # a hive at <volume>\Windows\System32\config\SYSTEM (KAPE, mounted): read the binaries too
    events: bool = True  # the same volume's (or image's) event logs joined with its hive (triage/hostlogs.py)


__all__ = ["Analyser", "NoAnalysis", "ScanOptions"]
