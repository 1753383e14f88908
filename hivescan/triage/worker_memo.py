"""The state a triage worker process keeps across its hives: the memo of decoded service keys.

One per process (``functools.cache``), bounded by :class:`~hivescan.scm.services.RecordMemo`
itself; nothing else in a worker outlives a hive.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hivescan.scm.services import RecordMemo


@cache
def worker_record_memo() -> RecordMemo:
    """The decoded service keys a worker process remembers across its hives (one per process,
    bounded: see :class:`~hivescan.scm.services.RecordMemo`); stock services repeat from host
    to host. Owned here, by the worker, so that a library caller of ``open_hive`` shares
    nothing between calls unless it passes a memo of its own."""
    from hivescan.scm.services import RecordMemo  # here: the triage parent imports this module

    return RecordMemo()


__all__ = ["worker_record_memo"]
