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


# ``json.dumps(obj, ensure_ascii=True, default=str)`` builds a new encoder on every call (only
# the all-defaults call reuses one); the same encoder built once gives the same text
_DUMPS = json.JSONEncoder(ensure_ascii=True, default=str).encode


def dumps(obj: Any) -> str:
    """JSON text that always encodes: ASCII-escaped, so lone surrogates from damaged hives survive."""
    return _DUMPS(obj)


@contextmanager
def text_output(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or ``path`` written through a temporary file renamed into place."""
    if path is None:
        yield sys.stdout
        return
    from hivescan.render.output import atomic_text

    with atomic_text(path) as fh:
        yield fh


VERSION_FIELD = "hivescan_version"


def stamped(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with the version of hivescan that wrote it, as its last field.

    Every JSON/JSONL/CSV row carries it (not a header object): rows stay independent, so
    ``grep``, ``jq``, ``split`` and the readers (``explain``, ``from_dict``) see whole records and
    a row copied into a case note still says which build produced it."""
    from hivescan import __version__

    return _stamped(row, __version__)


def _stamped(row: Mapping[str, Any], version: str) -> dict[str, Any]:
    """:func:`stamped` with the version looked up once per output, not once per row."""
    if VERSION_FIELD in row:
        return dict(row)
    return {**row, VERSION_FIELD: version}


def write_jsonl(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    from hivescan import __version__

    for row in rows:
        out.write(_DUMPS(_stamped(row, __version__)))
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
    from hivescan.render.output import atomic_binary

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[VERSION_FIELD.encode()] = __version__.encode()
    # pyarrow is handed an open file, never a path: on a write error it deletes the path it
    # was given, and for a stream written in place (-o /dev/full) that path is the device
    with atomic_binary(path) as fh:
        pq.write_table(table.replace_schema_metadata(metadata), fh)


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


_EMPTY_CONTAINERS: dict[type, str] = {list: "[]", tuple: "[]", dict: "{}"}  # what _cell makes of them


class _Cells:
    """:func:`_cell` for one CSV output, each distinct text made safe once: a table repeats
    most of its texts (status, labels, the hive's path and hash, ``[]``) row after row.
    Keyed by the exact ``str`` (the cell is a function of the text alone); bounded."""

    LIMIT = 100_000

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def cell(self, value: Any) -> Any:
        if type(value) is not str:
            if not value and type(value) in _EMPTY_CONTAINERS:  # "[]" / "{}", the common JSON cells
                return _EMPTY_CONTAINERS[type(value)]
            return _cell(value)
        text = self._texts.get(value)
        if text is None:
            text = csv_cell(value)
            if len(self._texts) < self.LIMIT:
                self._texts[value] = text
        return text


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    from hivescan import __version__

    rows = [_stamped(r, __version__) for r in rows]
    columns: dict[str, None] = {}  # every key in first-seen order (a dict: no list scan per key)
    for row in rows:
        columns.update(dict.fromkeys(row))
    header = list(columns)
    writer = csv.writer(out)
    writer.writerow([csv_cell(str(col)) for col in header])
    cell = _Cells().cell
    for row in rows:
        writer.writerow([cell(row.get(col)) for col in header])


def csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    write_csv(rows, buf)
    return buf.getvalue()
