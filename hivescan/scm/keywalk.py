"""One service key's content as exact bytes, read without Key objects (or a decline).

:class:`hivescan.scm.services.RecordMemo` answers a service key equal, byte for byte, to one
decoded before. Its first key (the content tuple of ``services._content``) is made from
Key objects: listing the key's subkeys, reading every value, listing ``TriggerInfo``; about
50 us of Python per service even when the answer is already known. :func:`walk_service_key`
asks the compiled walk (``_keywalk.c``, optional C extension built by setup.py) for:

* ``content``: one canonical byte string of everything ``keyfields.decode_key`` reads: the
  key's name bytes and whether compressed; every value in list order (raw name bytes, whether
  compressed, type, exact data bytes); the subkey names in list order; the values of the first
  ``Parameters`` and ``Security`` subkeys (ci); the names and values of the ``TriggerInfo``
  subkeys. No last-write time is content: trigger subkeys' times differ from host to host
  while the triggers are the same, so a record takes every time from ``times`` (its decoded
  ``triggers`` too: :func:`hivescan.scm.memo.fields_from_hit`). Every part is
  length-prefixed, so equal bytes mean equal content. The bytes themselves are the memo's
  key (compared in full: no hash, no collision);
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

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import BIG_DATA_SEGMENT
from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.model import RawValue
from hivescan.hive.tree import MAX_DEPTH, Key, upcase, values_by_name
from hivescan.scm.compiled import KEYWALK

# the compiled walk and read-back (None: not built, or older than this Python)
_walk_c: Any = KEYWALK.walk_service if KEYWALK is not None else None
_read_c: Any = KEYWALK.read_walked if KEYWALK is not None else None

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TYPE_LENGTH = struct.Struct("<II")
_MAX_ITEMS = 512  # subkeys or values of one key the walk takes (MAX_ITEMS in _keywalk.c)
_NK_LAST_WRITE = BASE_BLOCK_SIZE + 8  # from a key cell's offset: its size field, "nk", flags, then the time
_new_tuple = tuple.__new__  # RawValue(...) without its Python-level __new__, as the cell reader builds them

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
    walked: Walked = _new_tuple(Walked, found)  # five items, as Walked(*found) without its Python __new__
    listed, ancestors = reader._listed, key.ancestors
    for cells in (walked.subkeys, walked.trigger_subkeys):
        if not listed.isdisjoint(cells) or not ancestors.isdisjoint(cells):
            return None
    return walked


def service_walker(services: Key) -> Callable[[Key], Walked | None]:
    """:func:`walk_service_key` for the subkeys of one ``Services`` key, with what is the same
    for all of them (the reader, its bytes, the value cap, the fast lister) looked up once:
    the same answers, about 0.5 us a key less. A key of another reader is walked the long way."""
    reader = services.reader
    if _walk_c is None or reader._backends.get(FAST_LISTER) is None:
        return walk_service_key
    walk_c = _walk_c
    data, most = reader.cells.data, min(BIG_DATA_SEGMENT, reader.cells.max_value_bytes)
    listed = reader._listed  # the reader's own set, updated in place as keys are listed and claimed

    def walk(key: Key) -> Walked | None:
        nk = key._nk
        if (
            key.reader is not reader
            or nk is None
            or key.diagnostics
            or key._subkeys is not None
            or key._values is not None
            or key._handle is None
            or key.parser != FAST_LISTER
            or len(key.ancestors) + 1 >= MAX_DEPTH
        ):
            return walk_service_key(key)
        found = walk_c(data, nk.offset, most)
        if found is None:
            return None
        walked: Walked = _new_tuple(Walked, found)
        ancestors = key.ancestors
        for cells in (walked.subkeys, walked.trigger_subkeys):
            if not listed.isdisjoint(cells) or not ancestors.isdisjoint(cells):
                return None
        return walked

    return walk


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


class WalkedKey:
    """A key as the compiled walk read it, for the record builder (a KeyView).

    Its values are the walk's exact bytes, as the cell reader would give them (reader
    ``cells``, exact, no notes); a key whose values the record does not read (TriggerInfo,
    other subkeys) has none to give, and asking for them is a programming error. It has no
    reading diagnostics: the walk declines every key the reader would note anything on.
    """

    __slots__ = ("_by_name", "_values", "diagnostics", "last_write", "name", "name_raw", "parser", "path")

    def __init__(
        self,
        name: str,
        path: str,
        last_write: int,
        parser: str,
        values: list[RawValue] | None,
        name_raw: bytes | None = None,
        by_name: dict[str, RawValue] | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.last_write = last_write
        self.parser = parser
        self.name_raw = name_raw
        self.diagnostics: list[Diagnostic] = []
        self._values = values
        self._by_name = by_name  # values_by_name(values) when the reader made it, else made when asked

    def subkeys(self) -> Sequence[WalkedKey]:
        raise RuntimeError(f"{self.path}: subkeys the walk did not read")

    def values(self) -> list[RawValue]:
        if self._values is None:
            raise RuntimeError(f"{self.path}: values the walk did not read")
        return self._values

    def values_by_name(self) -> Mapping[str, RawValue]:
        if self._by_name is None:
            self._by_name = values_by_name(self.values())
        return self._by_name

    def security_descriptor(self) -> bytes | None:
        raise RuntimeError(f"{self.path}: a descriptor the walk did not read")

    def security_hex(self) -> str | None:
        raise RuntimeError(f"{self.path}: a descriptor the walk did not read")


class WalkedService(NamedTuple):
    """A service key and what its record reads, from the walk's bytes (see :func:`read_walked`)."""

    key: WalkedKey
    subkeys: list[WalkedKey]
    triggers: list[WalkedKey]
    special: dict[str, WalkedKey]  # the first Parameters, Security and TriggerInfo (ci), in list order


# what the walk's bytes hold, read back: the key's values and the same by upper-case name
# (values_by_name), its subkey names (list order), the values of the first Parameters and
# Security subkeys with theirs by name (None: absent), and per TriggerInfo subkey its name and
# values (None: no TriggerInfo)
Held = tuple[list[RawValue], dict[str, RawValue]]
Parsed = tuple[
    list[RawValue],
    dict[str, RawValue],
    list[str],
    Held | None,
    Held | None,
    list[tuple[str, list[RawValue]]] | None,
]
_VALUE_TAIL = ("cells", True, ())  # reader, exact, notes: as the cell reader gives a plain value


def parse_walked_py(content: bytes) -> Parsed:
    """The walk's canonical bytes read back in Python: the reference ``_keywalk.read_walked``
    is tested against (same answer, or ValueError on bytes the walk cannot have made)."""
    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        if n < 0 or pos + n > len(content):
            raise ValueError("walked bytes end early")
        pos += n
        return pos - n

    def name() -> str:
        at = take(3)
        compressed, (length,) = content[at], _U16.unpack_from(content, at + 1)
        raw = content[take(length) : pos]
        return raw.decode("latin-1") if compressed else raw.decode("utf-16-le")

    def count() -> int:
        (number,) = _U32.unpack_from(content, take(4))
        if number > _MAX_ITEMS:
            raise ValueError("walked bytes hold too many items")
        return int(number)

    def values() -> list[RawValue]:
        out = []
        for _ in range(count()):
            value_name = name()
            reg_type, length = _TYPE_LENGTH.unpack_from(content, take(8))
            data = content[take(length) : pos]
            out.append(_new_tuple(RawValue, (value_name, reg_type, data, *_VALUE_TAIL)))
        return out

    def held() -> Held | None:
        if not content[take(1)]:
            return None
        found = values()
        return found, values_by_name(found)

    at = take(3)
    take(_U16.unpack_from(content, at + 1)[0])  # the service key's own name: the caller's key has it
    own = values()
    own_by_name = values_by_name(own)
    names = [name() for _ in range(count())]
    params, security = held(), held()
    triggers = [(name(), values()) for _ in range(count())] if content[take(1)] else None
    if pos != len(content):
        raise ValueError("walked bytes go on past their end")
    return own, own_by_name, names, params, security, triggers


def _parse_walked_c(content: bytes) -> Parsed:
    return _read_c(content, RawValue, _VALUE_TAIL, upcase)  # type: ignore[no-any-return]


# with the extension (the only case a walk exists), the compiled twin: 14 us of Python per key
parse_walked = _parse_walked_c if _read_c is not None else parse_walked_py

_SPECIAL = frozenset({"PARAMETERS", "SECURITY", "TRIGGERINFO"})  # services._special_subkeys' names


def read_walked(key: Key, walked: Walked) -> WalkedService:
    """The walk's canonical bytes read back into keys the record builder takes: the service
    key (with ``key``'s own name, path, time and parser), its subkeys in list order (values of
    the first Parameters and Security), TriggerInfo's subkeys with their values, and the
    special subkeys as ``services._special_subkeys`` finds them (in the same pass: the walk's
    names are ASCII, so ``str.upper`` is the registry's upper case).

    The values come with their by-name dicts, made by the compiled reader (about 1 us a key
    less than ``values_by_name`` in Python)."""
    own, own_by_name, names, params, security, trigger_items = parse_walked(walked.content)
    parser = key.parser
    subkeys: list[WalkedKey] = []
    special: dict[str, WalkedKey] = {}
    if names:
        image = key.reader.cells.data
        prefix = key.path + "\\" if key.path else ""
        unpack = _U64.unpack_from
        append = subkeys.append
        for sub_name, offset in zip(names, walked.subkeys, strict=True):
            sub = WalkedKey(sub_name, prefix + sub_name, unpack(image, _NK_LAST_WRITE + offset)[0], parser, None)
            append(sub)
            upper = sub_name.upper()
            if upper in _SPECIAL and upper not in special:
                special[upper] = sub
        # the first Parameters/Security alone holds the walk's values
        if params is not None:
            _hold(key, special, "PARAMETERS", params)
        if security is not None:
            _hold(key, special, "SECURITY", security)
    elif params is not None or security is not None:
        raise ValueError(f"{key.path}: walked bytes hold subkey values but no subkeys")
    triggers: list[WalkedKey] = []
    if trigger_items is not None:
        trigger_key = special.get("TRIGGERINFO")
        if trigger_key is None:
            raise ValueError(f"{key.path}: walked bytes hold triggers but no TriggerInfo subkey")
        trigger_path = trigger_key.path + "\\"
        times = walked.times[len(walked.times) - len(trigger_items) :]  # trigger times are not content
        for (sub_name, values), last_write in zip(trigger_items, times, strict=True):
            triggers.append(WalkedKey(sub_name, trigger_path + sub_name, last_write, parser, values))
    nk = key._nk
    name_raw = nk.name_raw if nk is not None else None  # Key.name_raw without the property call
    service = WalkedKey(key.name, key.path, key.last_write, parser, own, name_raw, own_by_name)
    walked_service: WalkedService = _new_tuple(WalkedService, (service, subkeys, triggers, special))
    return walked_service


def _hold(key: Key, special: dict[str, WalkedKey], upper: str, held: Held) -> None:
    holder = special.get(upper)
    if holder is None:
        raise ValueError(f"{key.path}: walked bytes hold {upper} values but no such subkey")
    holder._values, holder._by_name = held
