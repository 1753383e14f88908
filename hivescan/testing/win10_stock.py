r"""Windows 10 services as the project's catalog of expectations describes them (data).

Why: hosts built by :mod:`hivescan.testing.win10` (corpus v3) must raise only the findings
a real host would. Services whose ImagePath or ServiceDll differs from the Windows 10
expectations (``hivescan/catalog/data/windows_expected.csv``, from Trawler) raise
``imagepath-differs-from-windows`` / ``servicedll-differs-from-windows`` on every host, which
a real Windows 10 host does not. So the stock services are the catalog's own: one row per
service the catalog describes with a path under the Windows folder (less a few the catalog
lists that are third-party software installed there), the path being a
concrete instance of its pattern, written as Windows writes it (``%SystemRoot%\...`` for
services, ``System32\drivers\...`` for drivers). Third-party software the catalog also
describes (Program Files) is in :mod:`hivescan.testing.win10`'s vendor pool instead.

Derived once from the catalog (the patterns' alternatives take their first branch, ``.*``
becomes ``-p`` after ``svchost.exe -k GROUP`` or a version/hash elsewhere; the per-user
instances it names, ``<template>_1af30d``, become their templates, kind ``user``, whose
instances each host makes with its own logon ids) and kept as data
in ``win10_stock.csv`` beside this module, so the corpus does not change when the catalog
does; a test checks that every row still agrees with the catalog. Columns: name, kind
(``driver``, ``svchost`` for a shared svchost service, ``user`` for a per-user service
template, ``own`` for a service in its own process), ImagePath, ServiceDll (empty: none).
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import NamedTuple


class StockService(NamedTuple):
    name: str
    kind: str  # driver, svchost, user or own
    image_path: str
    service_dll: str | None


def _load() -> tuple[StockService, ...]:
    text = resources.files("hivescan.testing").joinpath("win10_stock.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    return tuple(StockService(r["name"], r["kind"], r["image_path"], r["service_dll"] or None) for r in rows)


STOCK: tuple[StockService, ...] = _load()

__all__ = ["STOCK", "StockService"]
