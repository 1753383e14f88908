"""Output formats and the plumbing shared by every renderer."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from hivescan.textsafe import csv_cell


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


class OutputError(Exception):
    """The output could not be written as asked (e.g. Parquet to a terminal)."""


def dumps(obj: Any) -> str:
    """JSON text that always encodes: ASCII-escaped, so lone surrogates from damaged hives survive."""
    return json.dumps(obj, ensure_ascii=True, default=str)


@contextmanager
def text_output(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or ``path`` written through a temporary file renamed into place."""
    if path is None:
        yield sys.stdout
        return
    from hivescan.render.output import atomic_text

    with atomic_text(path) as fh:
        yield fh


def write_jsonl(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    for row in rows:
        out.write(dumps(row))
        out.write("\n")


def write_json(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    out.write(json.dumps(list(rows), ensure_ascii=True, indent=2, default=str))
    out.write("\n")


def _cell(value: Any) -> Any:
    """One CSV cell: text made visible and formula-safe (:func:`~hivescan.textsafe.csv_cell`),
    lists and mappings as JSON (ASCII-escaped), numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return csv_cell(dumps(value))
    if isinstance(value, str):
        return csv_cell(value)
    return value


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    rows = list(rows)
    header: list[str] = []
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    writer = csv.writer(out)
    writer.writerow([csv_cell(str(col)) for col in header])
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in header])


def csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    write_csv(rows, buf)
    return buf.getvalue()
