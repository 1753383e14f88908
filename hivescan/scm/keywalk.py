"""One service key's content as exact bytes, read without Key objects (or a decline).

:class:`hivescan.scm.services.RecordMemo` answers a service key equal, byte for byte, to one
decoded before. Its first key (the content tuple of ``services._content``) is made from
Key objects: listing the key's subkeys, reading every value, listing ``TriggerInfo``; about
50 us of Python per service even when the answer is already known. :func:`walk_service_key`
asks the compiled walk (``_keywalk.c``, optional C extension built by setup.py) for:

* ``content``: one canonical byte string of everything ``services._decode_key`` reads: the
  key's name bytes and whether compressed; every value in list order (raw name bytes, whether
  compressed, type, exact data bytes); the subkey names in list order; the values of the first
  ``Parameters`` and ``Security`` subkeys (ci); the names, last-write times and values of the
  ``TriggerInfo`` subkeys. Every part is length-prefixed, so equal bytes mean equal content.
  The bytes themselves are the memo's key (compared in full: no hash, no collision);
* the key cells the reader would list: the service key's subkeys, ``TriggerInfo`` and its
  subkeys, and the last-write times a record keeps of the special subkeys and triggers.

The walk declines (None) on anything but the plain common case, so that an answer implies
the reader would read the very same bytes, note nothing and list the very same cells (see
the C file's header for the list of checks). The Python checks here add what only the
reader knows: the key was listed by regipy-rs (its fast listing), has no note and has not
been read yet, is not too deep, and none of the cells is already given out or an ancestor.

Without the extension every key takes the Python path; the answers are the same (tested).
"""

from __future__ import annotations

from typing import NamedTuple

from hivescan.hive.cells import BIG_DATA_SEGMENT
from hivescan.hive.tree import MAX_DEPTH, Key

try:
    from hivescan.scm._keywalk import walk_service as _walk_c
except ImportError:  # no C compiler at install time: the Python path reads every key
    _walk_c = None

IMPLEMENTATION = "c" if _walk_c is not None else "python"
FAST_LISTER = "regipy-rs"  # the backend whose listings HiveReader._list_subkeys_fast takes


class Walked(NamedTuple):
    """What the compiled walk found in one service key."""

    content: bytes  # the canonical bytes (see the module's docstring)
    subkeys: tuple[int, ...]  # key cells of its subkeys, list order
    trigger: int | None  # key cell of its first TriggerInfo subkey (ci)
    trigger_subkeys: tuple[int, ...]  # key cells of TriggerInfo's subkeys, list order
    times: tuple[int, ...]  # last writes: Parameters/Security/TriggerInfo (list order), then each trigger


def walk_service_key(key: Key) -> Walked | None:
    """The compiled walk of ``key``, or None when it or the reader's state is not plain."""
    if _walk_c is None:
        return None
    nk, reader = key._nk, key.reader
    if (
        nk is None
        or key.diagnostics
        or key._subkeys is not None
        or key._values is not None
        or key._handle is None
        or key.parser != FAST_LISTER
        or reader._backends.get(FAST_LISTER) is None
        or len(key.ancestors) + 1 >= MAX_DEPTH  # the reader lists TriggerInfo's subkeys too
    ):
        return None
    found = _walk_c(reader.cells.data, nk.offset, min(BIG_DATA_SEGMENT, reader.cells.max_value_bytes))
    if found is None:
        return None
    walked = Walked(*found)
    listed, ancestors = reader._listed, key.ancestors
    for cells in (walked.subkeys, walked.trigger_subkeys):
        if not listed.isdisjoint(cells) or not ancestors.isdisjoint(cells):
            return None
    return walked


def claim_listings(key: Key, walked: Walked) -> None:
    """Take the walked key cells into the reader's listing bookkeeping, as reading the key
    would have (each key cell is given out once per hive; see HiveReader.claim_listing)."""
    nk = key._nk
    assert nk is not None  # walked keys have one
    reader = key.reader
    if walked.subkeys:
        reader.claim_listing(nk.offset, walked.subkeys)
    if walked.trigger is not None and walked.trigger_subkeys:
        reader.claim_listing(walked.trigger, walked.trigger_subkeys)
