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

from hivescan.textsafe import escape_surrogates


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
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as fh:
        yield fh


VERSION_FIELD = "hivescan_version"


def stamped(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with the version of hivescan that wrote it, as its last field.

    Every JSON/JSONL/CSV row carries it (not a header object): rows stay independent, so
    ``grep``, ``jq``, ``split`` and the readers (``explain``, ``from_dict``) see whole records and
    a row copied into a case note still says which build produced it."""
    from hivescan import __version__

    out = dict(row)
    out.setdefault(VERSION_FIELD, __version__)
    return out


def write_jsonl(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    for row in rows:
        out.write(dumps(stamped(row)))
        out.write("\n")


def write_json(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    out.write(json.dumps([stamped(r) for r in rows], ensure_ascii=True, indent=2, default=str))
    out.write("\n")


def write_parquet(frame: Any, path: Path) -> None:
    """A DataFrame as Parquet, with the writing hivescan's version in the schema metadata
    (key ``hivescan_version``); pandas' own metadata is kept, so ``read_parquet`` is unchanged."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hivescan import __version__

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[VERSION_FIELD.encode()] = __version__.encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return dumps(value)
    if isinstance(value, str):
        return escape_surrogates(value)
    return value


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    rows = [stamped(r) for r in rows]
    header: list[str] = []
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in header])


def csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    write_csv(rows, buf)
    return buf.getvalue()
