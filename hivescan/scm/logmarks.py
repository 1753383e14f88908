"""Mark what a log replay changed without rebuilding the primary file: only the records whose
bytes the replay changed are compared.

Why: the reference (:func:`hivescan.scm.logdiff.mark_log_changes` against every record of the
primary file read alone) rebuilds the whole service database a second time, which costs as
much as the replayed rebuild itself. But a replay changes only the pages it writes, and most
bytes of a written page are what the primary already held (the kernel logs whole pages for a
changed cell). A record is a function of the bytes its build reads; when every one of them
is equal in both files, and the primary's key of that name starts at the same key cell, the
record built from the primary is the same record and cannot be marked.

So (:func:`mark_touched`):

1. the sectors (512 bytes) the replay wrote whose bytes differ from the primary's
   (:func:`changed_sectors`);
2. per service key of the replayed hive, the byte ranges its record is built from
   (:class:`_Closure`: the key cell, its sk descriptor, value list, value cells and data,
   big-data segments, subkey list and subkey cells, the values of ``Parameters``/``Security``/
   ``TriggerInfo`` and the subkeys of ``TriggerInfo`` with their values); a record is
   *touched* when a range lies in a changed sector and its bytes differ, or lies past what
   both files hold;
3. touched records, records whose name the primary lacks (new) or lists at another key cell,
   and per-user instances of a touched, new or removed template (they inherit ``ServiceDll``
   from it, scm-spec §8) are compared with the primary's records of the same names, built from
   the primary's keys and linked to their templates as the database pass does; names only the
   primary lists are the removed services.

Whenever the answer could depend on something this does not follow, it declines (returns
None) and the caller runs the reference: a cell that is not cleanly readable (the reader then
takes other paths or libraries), a key cell listed twice (the reader gives each key cell one
place in the tree, so who gets it depends on reading order), subkeys of a service named
alike, a changed hive-bin header, other hive versions, more than one control set.

Tests compare it with the reference on built dirty hives with changes of every kind, the
fixtures, the real Windows 10 dirty hive and hypothesis-built changes (tests/scm/test_logmarks.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.logs import PageWrite
from hivescan.hive.tree import HiveReader, Key, upcase
from hivescan.scm.logdiff import index_records, mark_record, record_key, removed_warnings
from hivescan.scm.logwalk import changed_sectors, walk_services
from hivescan.scm.peruser import link_user_services, split_instance_name
from hivescan.scm.record import HiveRef, ServiceRecord
from hivescan.scm.services import build_service_record


class Declined(Exception):
    """The shortcut cannot vouch for the answer here; the caller runs the reference."""


class Marked(NamedTuple):
    """The marked records and hive-level diagnostics (as the reference gives them), the names
    (upper case) of the records compared and how many primary records were built."""

    records: list[ServiceRecord]
    diagnostics: list[Diagnostic]
    compared: frozenset[str]
    built: int


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


def _offsets(keys: Iterable[Key]) -> list[int]:
    out = []
    for key in keys:
        if key.cell_offset is None:
            raise Declined(f"{key.path}: no key cell offset")
        out.append(key.cell_offset)
    return out


def mark_touched(
    records: list[ServiceRecord],
    *,
    replayed: HiveReader,
    primary: HiveReader,
    writes: Sequence[PageWrite],
    after_set: Key,
    before_set: Key,
    number: int,
    primary_hive: HiveRef,
    lenient: bool,
) -> Marked:
    """``records`` (of control set ``number`` of the replayed hive, built from ``after_set``)
    marked as :func:`~hivescan.scm.logdiff.mark_log_changes` marks them against the records of
    ``before_set`` in the primary file, building only the primary records that may differ.

    Raises :class:`Declined` when it cannot vouch for that (see the module docstring).
    """
    image, data = replayed.cells.data, primary.cells.data
    if replayed.base.minor_version != primary.base.minor_version:
        raise Declined("hive versions differ")
    if replayed.cells.max_value_bytes != primary.cells.max_value_bytes:
        raise Declined("value caps differ")
    after_services, before_services = after_set.subkey("Services"), before_set.subkey("Services")
    if after_services is None or before_services is None:
        raise Declined("no Services key")
    root_a, root_b = replayed.root(), primary.root()
    for a, b in ((root_a, root_b), (after_set, before_set), (after_services, before_services)):
        if a.cell_offset is None or a.cell_offset != b.cell_offset or a.path != b.path:
            raise Declined(f"{a.path}: not the same key cell in both files")
    after_keys, before_keys = after_services.subkeys(), before_services.subkeys()
    if [r.name for r in records] != [k.name for k in after_keys] or any(r.control_set != number for r in records):
        raise Declined("the records are not those of the Services subkeys")

    bins = BASE_BLOCK_SIZE + min(replayed.base.hive_bins_data_size, primary.base.hive_bins_data_size)
    limit = min(len(data), bins)
    minor = primary.base.minor_version
    bits = changed_sectors(data, image, writes, limit)

    # which records of the replayed hive may differ: names matched as the reference matches
    # them (the first primary key of a name, upper-cased by str.upper)
    after_at = _offsets(after_keys)
    walked = walk_services(image, data, bits, limit, minor, after_at)
    if isinstance(walked, str):
        raise Declined(f"replayed hive: {walked}")
    before_at: dict[str, int] = {}
    for key, offset in zip(before_keys, _offsets(before_keys), strict=True):
        before_at.setdefault(key.name.upper(), offset)
    compare: set[str] = set()
    kept: set[int] = set()
    kept_nks: list[int] = []
    for index, key in enumerate(after_keys):
        upper, offset = key.name.upper(), after_at[index]
        if walked.touched[index] or before_at.get(upper) != offset:
            compare.add(upper)
        else:
            kept.add(offset)
            kept_nks += walked.nks[walked.bounds[index] : walked.bounds[index + 1]]
    listed = [root_a.cell_offset, *_offsets(root_a.subkeys()), *_offsets(after_set.subkeys()), *walked.nks]
    if len(set(listed)) != len(listed):
        raise Declined("a key cell is listed twice in the replayed hive")
    after_names = {k.name.upper() for k in after_keys}
    removed = {k.name.upper() for k in before_keys} - after_names

    # the primary's other keys must not reach the key cells of the kept records either: the
    # reader gives each key cell one place, so who lists it first would change those records
    others = [offset for offset in _offsets(before_keys) if offset not in kept]
    walked_before = walk_services(data, image, bytearray(len(bits)), len(data), minor, others)
    if isinstance(walked_before, str):
        raise Declined(f"primary file: {walked_before}")
    listed = [root_b.cell_offset, *_offsets(root_b.subkeys()), *_offsets(before_set.subkeys())]
    listed += walked_before.nks + kept_nks
    if len(set(listed)) != len(listed):
        raise Declined("a key cell is listed twice in the primary file")

    # per-user instances follow their templates (ServiceDll is inherited)
    moved = {_upper(k.name) for k in after_keys if k.name.upper() in compare} | {
        _upper(k.name) for k in before_keys if k.name.upper() in removed
    }
    templates: set[str] = set()
    for key in after_keys:
        parts = split_instance_name(key.name)
        if parts is None:
            continue
        if _upper(parts[0]) in moved:
            compare.add(key.name.upper())
        if key.name.upper() in compare:
            templates.add(_upper(parts[0]))
    needed = [
        k for k in before_keys if k.name.upper() in compare or k.name.upper() in removed or _upper(k.name) in templates
    ]
    source = records[0].control_set_source if records else None
    before = [
        build_service_record(k, hive=primary_hive, control_set=number, control_set_source=source, lenient=lenient)
        for k in needed
    ]
    links = link_user_services(before, [None] * len(before))
    for position, update in links.updates.items():
        before[position] = replace(before[position], **update)
    first = index_records(before)
    out = [mark_record(first.get(record_key(r)), r) if r.name.upper() in compare else r for r in records]
    gone = [r for key, r in first.items() if key[1] in removed]
    return Marked(out, removed_warnings(gone), frozenset(compare), len(before))
