"""Pausing Python's cyclic garbage collector while a hive's records are built.

A rebuild allocates tens of thousands of small, acyclic objects (values, keys, records,
diagnostics). Each 700 allocations trigger a young-generation collection that walks them
all, and the older generations are re-walked as the counts pile up: measured at about 10%
of a 650-service rebuild (bench/services.py). Reference counting frees these objects
either way; the collector only matters for cycles, which the builders do not create.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block, and restore the previous state after it.

    Re-entrant and exception-safe: only the outermost block that found the collector
    enabled turns it back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
