"""Transaction logs of a dirty hive: find them, parse them, check them, replay them in memory.

Why: Windows 8.1 and later write registry changes to ``SYSTEM.LOG1``/``SYSTEM.LOG2`` first
and reconcile them into the primary file later, sometimes much later. An attacker's service
installed minutes before acquisition is often only in the logs. The kernel replays them
when it loads a dirty hive; hivescan does the same, in memory -- the evidence files are only
read, never written.

What is replayed, as the kernel does (msuhanov/regf specification):

* **new format** (file type 6, Windows 8.1+): log entries ``HvLE`` from offset 512, each
  with Marvin32 Hash-1 (page references and pages) and Hash-2 (header). The valid entries of
  a log numbered from its base block's sequence number on are candidates, in whatever file
  order; the candidates of all logs are ordered by sequence number -- not by file name or
  position -- starting with the first not older than the primary's secondary sequence
  number, and applied while the numbers run on without a gap. A corrupt entry (bad hash,
  bad size, pages out of bounds), a missing or duplicate number or a truncated file stops
  the replay there; what came before stays applied and every later valid entry is named in
  a warning. Entries older than the primary are stale (already written into it). The image
  grows to each applied entry's hive-bins size.
* **remnants**: valid entries past a log's current ones (walked on, or found at a sector
  boundary past the end, as yarp's ``list_remnant_log_entries``) are never applied; those
  numbered before the first applied entry are previous states of the hive (an info that
  lists them), any other is a warning.
* **old format** (file types 1/2, up to Windows 8): base block, ``DIRT`` dirty vector (one bit
  per 512-byte page of the hive bins) and the dirty pages. A log applies when its base block
  has the primary's last-written timestamp (hivescan accepts a later one, as yarp does);
  of several, the latest. A dirty page run that would leave an invalid hive-bin header stops
  the replay at that bin.

A log must have a valid base block (signature, checksum, equal sequence numbers) and belong
to the hive: when both base blocks carry the Windows 10 ``rmtm`` GUIDs they must match, else
the stored file names must. The replayed image gets a consistent base block (both sequence
numbers set to the last applied entry, hive-bins size, root cell, timestamp and flags from
the logs, type 0, checksum) so that every parser accepts it.

Nothing is trusted: every size, offset and count is bounded against the file it came from,
growth is bounded by the bytes the logs can supply, and problems become diagnostics.

For history and deleted-data recovery (issue 4, other items) the result keeps which entry
wrote which page (:attr:`ReplayResult.writes`), the entries left out and why, the valid
remnant entries past the active ones (:attr:`LogFile.remnants`), and ``replay(...,
stop_after=N)`` rebuilds the hive as of any applied sequence number.

References: msuhanov/regf "Windows registry file format specification", sections "Format of
transaction log files", "Dirty state of a hive", "Multiple transaction log files"; and
msuhanov's note "Missing log entries for a dirty primary file" (partial reconcile: the first
entry may be far above the primary's sequence number).
"""

from hivescan.hive.logs.model import (
    SECTOR,
    LogEntry,
    LogFile,
    LogFormat,
    LogInfo,
    PageRef,
    PageWrite,
    Rejected,
    ReplayResult,
)
from hivescan.hive.logs.parse import LogsOption, discover_logs, load_logs, parse_log, read_log
from hivescan.hive.logs.replay import replay

__all__ = [
    "SECTOR",
    "LogEntry",
    "LogFile",
    "LogFormat",
    "LogInfo",
    "LogsOption",
    "PageRef",
    "PageWrite",
    "Rejected",
    "ReplayResult",
    "discover_logs",
    "load_logs",
    "parse_log",
    "read_log",
    "replay",
]
