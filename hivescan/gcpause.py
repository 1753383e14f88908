"""Keeping Python's cyclic garbage collector out of a hive rebuild.

A rebuild allocates tens of thousands of small container objects (values, keys, records,
diagnostics: about 22,000 for a 650-service hive). Each 700 allocations trigger a
young-generation collection that walks them all, and the older generations are re-walked as
the counts pile up: measured at about 10% of a 650-service rebuild (bench/services.py).

Pausing the collector alone only moves that cost: the generation-0 count keeps growing
while it is off, so the first allocation after it is switched back on walks every object
the rebuild made -- one collection of about 5 ms, a tenth of the rebuild again. Yet nothing
there is garbage: the objects are the records handed to the caller and the keys the open
hive keeps, and reference counting frees them when they are dropped. So at the end of the
block the young objects are moved straight into the oldest generation with
``gc.freeze()`` + ``gc.unfreeze()`` (two list splices, no walk): where they would have
ended up after surviving two collections anyway. They are still examined by the next full
collection, so a cycle among them is still found.

In long-lived triage workers this does not let cyclic garbage pile up (issue 13, measured
with ``bench/triage.py --worker-memory 5``: one process scanning the 60-host corpus five
times): a full collection after a hive finds 22 unreachable objects (44 after a dirty one),
the oldest generation holds ~120,000 objects after 60 hives and ~126,500 after 300 (the
bounded verdict cache), the collector's own full collections still run (3 in 300 hives), and
RSS stays flat (199-256 MiB sampled). A ``gc.collect()`` between hives would cost ~60 ms of
CPU each (a fifth of a hive) to free those few objects, so workers do not call it.

This is skipped when the program froze objects itself (``gc.get_freeze_count()``): unfreezing
would release its objects too. The collector's state (enabled or not) is restored.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; promote what it allocated; restore the state.

    Re-entrant and exception-safe: only the outermost block that found the collector
    enabled promotes the young objects and turns the collector back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()  # young and middle generations -> the permanent one ...
                gc.unfreeze()  # ... -> the oldest generation; resets the young count
            gc.enable()
