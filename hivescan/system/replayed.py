"""What a log replay changed: the records it touched, marked against the primary file alone.

A dirty hive is analysed as its logs leave it; an analyst must still see which records
came from the logs (scm/logdiff.py, scm/logmarks.py). Clean hives only report their logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hivescan.diagnostics import Diagnostic
from hivescan.errors import HivescanError
from hivescan.hive.logs import ReplayResult, replay
from hivescan.scm.logdiff import mark_log_changes
from hivescan.scm.logmarks import Declined, mark_touched
from hivescan.scm.record import ServiceRecord

if TYPE_CHECKING:
    from hivescan.system.hive import SystemHive


def replay_for_report(hive: SystemHive) -> ReplayResult | None:
    """The replay result, or for a clean hive a dry run that reports the logs."""
    usable = hive.log_replay is None and hive._logs_option != "none" and hive.primary_base is not None
    if usable and hive.log_files():
        hive.log_replay = replay(hive.evidence.data, hive.log_files())
    return hive.log_replay


def mark_replay_changes(
    hive: SystemHive, records: list[ServiceRecord], numbers: list[int], lenient: bool
) -> list[ServiceRecord]:
    """Mark records the replay changed, against the primary file read alone (scm/logdiff.py).

    One control set: only the records whose bytes the replay changed are compared
    (scm/logmarks.py); otherwise, or when that declines, every record is (the reference).
    """
    try:
        marked = _mark_touched(hive, records, numbers, lenient)
        if marked is None:
            if hive._primary_view is None:
                hive._primary_view = _primary_alone(hive)
            marked = mark_by_rebuild(hive._primary_view, records, numbers, lenient)
    except (HivescanError, ValueError) as exc:
        hive._note_once(
            "log_replay_compare_failed",
            f"the primary file alone could not be read to find what the log replay changed: {exc}",
        )
        return records
    for diag in marked[1]:
        hive._note_once(diag.code, diag.message)
    return marked[0]


def _mark_touched(
    hive: SystemHive, records: list[ServiceRecord], numbers: list[int], lenient: bool
) -> tuple[list[ServiceRecord], list[Diagnostic]] | None:
    """The marking of :func:`hivescan.scm.logmarks.mark_touched`, or None when it declines.

    Its own view of the primary file, read only as far as the shortcut needs: the view the
    reference uses is left as a full rebuild would leave it."""
    replayed = hive.log_replay
    if len(numbers) != 1 or replayed is None:
        return None
    with _primary_alone(hive) as view:
        after_set, before_set = hive.control_set_key(numbers[0]), view.control_set_key(numbers[0])
        if after_set is None or before_set is None:
            return None
        try:
            marked = mark_touched(
                records,
                replayed=hive.reader,
                primary=view.reader,
                writes=replayed.writes,
                after_set=after_set,
                before_set=before_set,
                number=numbers[0],
                primary_hive=view.hive_ref,
                lenient=lenient,
            )
        except Declined:
            return None
    return marked.records, marked.diagnostics


def _primary_alone(hive: SystemHive) -> SystemHive:
    """The evidence file read without its logs, with the options ``hive`` was opened with."""
    return type(hive)(hive.evidence, logs="none", require_system=False, **hive._options)


def mark_by_rebuild(
    view: SystemHive, records: list[ServiceRecord], numbers: list[int], lenient: bool
) -> tuple[list[ServiceRecord], list[Diagnostic]]:
    """The reference: every record of the primary file read alone, compared."""
    before: list[ServiceRecord] = []
    for number in numbers:
        if number in view.existing.sets:
            before += view.services(number, lenient=lenient)
    return mark_log_changes(before, records)
