"""The bytes a service record is built from, and whether a log replay changed any of them.

:func:`walk_services` follows, from each service key cell, the cells
``hivescan.scm.services.build_service_record`` and the reader's checks read: the key cell,
its sk descriptor (not the links and reference count, which change whenever any key with
the same descriptor is added), the value list, value cells and data, big-data records and
segments, the subkey list (and index-root leaves) and every subkey cell, the values of
``Parameters``, ``Security`` and ``TriggerInfo``, the subkeys of ``TriggerInfo`` and their
values. A record is *touched* when one of those byte ranges lies in a changed sector and its
bytes differ from the other file's, lies in a hive bin whose layout changed, or lies past
``limit`` (what both files hold).

Anything not cleanly readable makes the walk decline (a string saying why): the reader would
then take paths that read other bytes (careful paths, other libraries). So do subkey names
that are not ASCII (``str.upper`` and the registry's own upper case differ there, and the
special names must be matched as the record builder matches them) and keys with more than
:data:`MAX_SUBKEYS` subkeys (the duplicate-name check is quadratic in C).

Speed: ``_logwalk.c`` (optional C extension, built by setup.py) walks the ~700 services of a
13 MB hive in well under a millisecond; the Python code below is the reference it is tested
equal to (same flags, key cells and declines) and runs where the extension is not built.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from hivescan.hive.cells import BIG_DATA_SEGMENT, KEY_COMP_NAME, NO_OFFSET, SUBKEY_LIST_WIDTH, VALUE_TOMBSTONE
from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.logs import PageWrite

SECTOR_SHIFT = 9  # the smallest unit a log writes (old format: 512-byte pages)
CHANGED = 1  # a sector the replay wrote with bytes that differ from the primary's
FORCED = 2  # a sector of a hive bin whose header (signature, offset, size) differs: touched
MAX_SUBKEYS = 512
_NK = struct.Struct("<2sHQxB2xIIII4xIIII20xHH")  # as hivescan.hive.cells reads it
_VK = struct.Struct("<i2sHIIIHH")  # cell size, then the vk record
_I32 = struct.Struct("<i")
_SPECIAL = frozenset({"PARAMETERS", "SECURITY", "TRIGGERINFO"})  # subkeys whose values a record reads


class Walked(NamedTuple):
    """Per service: ``touched[i]`` (0/1); the key cells it reached are
    ``nks[bounds[i]:bounds[i + 1]]``."""

    touched: bytes
    nks: list[int]
    bounds: list[int]


def changed_sectors(primary: bytes, image: bytes, writes: Iterable[PageWrite], limit: int) -> bytearray:
    """One byte per 512-byte sector of ``image``: :data:`CHANGED` where the replay wrote bytes
    that differ from the primary's (or that the primary does not hold), :data:`FORCED` over
    every hive bin, in either file, whose header differs (before ``limit``: bins past it are
    new, and every cell in them counts as changed anyway)."""
    bits = bytearray((len(image) >> SECTOR_SHIFT) + 1)
    runs = [(BASE_BLOCK_SIZE + w.offset, BASE_BLOCK_SIZE + w.offset + w.size) for w in writes if w.size > 0]
    if _diff_c is not None:
        headers: list[int] = _diff_c(primary, image, runs, limit, bits)
    else:
        headers = _diff_sectors_py(primary, image, runs, limit, bits)
    for s in headers:
        # every bin whose layout differs starts where the header bytes differ (a new header,
        # a removed one, another size): force the bins either file has there
        for data in (image, primary):
            if data[s : s + 4] == b"hbin":
                (size,) = struct.unpack_from("<I", data, s + 8)
                stop = min(len(bits) << SECTOR_SHIFT, s + max(size, 4096))
                bits[s >> SECTOR_SHIFT : stop >> SECTOR_SHIFT] = bytes([FORCED]) * ((stop - s) >> SECTOR_SHIFT)
    return bits


def _diff_sectors_py(
    primary: bytes, image: bytes, runs: Iterable[tuple[int, int]], limit: int, bits: bytearray
) -> list[int]:
    """Mark the sectors of ``runs`` whose bytes differ; the hive-bin header positions whose
    first 12 bytes differ (the reference for ``_logwalk.diff_sectors``)."""
    end = len(primary)
    headers: list[int] = []
    for a, b in runs:
        if b <= end and image[a:b] == primary[a:b]:
            continue  # the whole run is what the primary held
        for sector in range(a >> SECTOR_SHIFT, ((b - 1) >> SECTOR_SHIFT) + 1):
            s = sector << SECTOR_SHIFT
            if s + 512 > end or s + 512 > len(image) or image[s : s + 512] != primary[s : s + 512]:
                bits[sector] = CHANGED
                if not s % 4096 and s + 12 <= min(limit, end, len(image)) and image[s : s + 12] != primary[s : s + 12]:
                    headers.append(s)
    return headers


class Decline(Exception):
    """Raised inside the Python walk; :func:`walk_services` returns its message."""


class _Walk:
    """The Python walk (the reference for ``_logwalk.c``, which mirrors it step by step)."""

    def __init__(self, data: bytes, other: bytes, bits: bytes | bytearray, limit: int, minor: int) -> None:
        self.data = data
        self.other = other
        self.bits = bits
        self.limit = limit
        self.size = len(data)
        self.minor = minor
        self.touched = False
        self.nks: list[int] = []

    def range(self, a: int, b: int) -> None:
        if self.touched:
            return
        if b > self.limit:
            self.touched = True
            return
        span = self.bits[a >> SECTOR_SHIFT : ((b - 1) >> SECTOR_SHIFT) + 1]
        if FORCED in span or (CHANGED in span and self.data[a:b] != self.other[a:b]):
            self.touched = True

    def cell(self, offset: int) -> tuple[int, int]:
        """(start, end) file offsets of an allocated cell, size field included."""
        at = BASE_BLOCK_SIZE + offset
        if offset % 8 or at + 4 > self.size:
            raise Decline(f"cell offset 0x{offset:x}")
        raw = _I32.unpack_from(self.data, at)[0]
        if raw > -8 or at - raw > self.size:
            raise Decline(f"cell 0x{offset:x} free or out of bounds")
        return at, at - raw

    def service(self, offset: int) -> bool:
        self.touched = False
        nk = self.nk(offset)
        self.security(nk[4])
        self.values(nk[2], nk[3])
        for sub_offset, sub_nk, upper in self.subkeys(nk[0], nk[1], offset):
            if upper in _SPECIAL:
                self.values(sub_nk[2], sub_nk[3])
                if upper == "TRIGGERINFO":
                    for _off, trigger_nk, _upper in self.subkeys(sub_nk[0], sub_nk[1], sub_offset):
                        self.values(trigger_nk[2], trigger_nk[3])
        return self.touched

    def nk(self, offset: int) -> tuple[int, int, int, int, int, int, int]:
        """subkey count, subkey list, value count, value list, security, name start, name end / flags."""
        at, end = self.cell(offset)
        if end - at - 4 < _NK.size:
            raise Decline(f"key cell 0x{offset:x} too small")
        (sig, flags, _lw, _layered, _parent, subkeys, _volatile, subkey_list, values, value_list, security,
         _class, name_len, _class_len) = _NK.unpack_from(self.data, at + 4)  # fmt: skip
        name_at = at + 4 + _NK.size
        if sig != b"nk" or name_at + name_len > end:
            raise Decline(f"key cell 0x{offset:x} not a clean key record")
        self.range(at, name_at + name_len)
        self.nks.append(offset)
        return subkeys, subkey_list, values, value_list, security, name_at, name_len | (flags & KEY_COMP_NAME) << 16

    def name_upper(self, start: int, packed: int) -> str:
        """The upper-case name of a subkey, declining names that are not ASCII."""
        length, compressed = packed & 0xFFFF, packed >> 16
        raw = self.data[start : start + length]
        if compressed:
            name = raw.decode("latin-1")
        elif length % 2:
            raise Decline("odd-length UTF-16 key name")
        else:
            name = raw.decode("utf-16-le", "surrogatepass")
        if not name.isascii():
            raise Decline("a subkey name is not ASCII")
        return name.upper()

    def security(self, offset: int) -> None:
        if offset == NO_OFFSET:
            return
        at, end = self.cell(offset)
        if end - at < 24 or self.data[at + 4 : at + 6] != b"sk":
            raise Decline(f"security cell 0x{offset:x}")
        (length,) = struct.unpack_from("<I", self.data, at + 20)
        if at + 24 + length > end:
            raise Decline(f"security cell 0x{offset:x} descriptor length")
        self.range(at, at + 6)  # size and signature; not the links and reference count
        self.range(at + 20, at + 24 + length)  # descriptor length and descriptor

    def values(self, count: int, list_offset: int) -> None:
        if not count:
            return
        at, end = self.cell(list_offset)
        if at + 4 + 4 * count > end:
            raise Decline(f"value list 0x{list_offset:x} short")
        self.range(at, at + 4 + 4 * count)
        data = self.data
        for off in struct.unpack_from(f"<{count}I", data, at + 4):
            v_at, v_end = self.cell(off)
            if v_end - v_at < 24:
                raise Decline(f"value cell 0x{off:x} too small")
            _raw, sig, name_len, size_field, data_off, _type, flags, _spare = _VK.unpack_from(data, v_at)
            if sig != b"vk" or flags & VALUE_TOMBSTONE or v_at + 24 + name_len > v_end:
                raise Decline(f"value cell 0x{off:x} not a clean value record")
            self.range(v_at, v_at + 24 + name_len)
            if size_field & 0x80000000:
                if size_field > 0x80000004:
                    raise Decline(f"value cell 0x{off:x} oversized inline data")
                continue  # the data is in the value record
            if size_field == 0:
                continue
            d_at, d_end = self.cell(data_off)
            if size_field > BIG_DATA_SEGMENT and self.minor >= 4:
                if data[d_at + 4 : d_at + 6] == b"db":
                    self.big_data(d_at, d_end)
                    continue
            elif size_field > d_end - d_at - 4:
                raise Decline(f"data cell 0x{data_off:x} short")
            self.range(d_at, d_end)

    def big_data(self, at: int, end: int) -> None:
        if end - at < 12:
            raise Decline("big-data record too small")
        count, seg_list = struct.unpack_from("<HI", self.data, at + 6)
        self.range(at, at + 12)
        l_at, l_end = self.cell(seg_list)
        if l_at + 4 + 4 * count > l_end:
            raise Decline("big-data segment list short")
        self.range(l_at, l_at + 4 + 4 * count)
        for seg in struct.unpack_from(f"<{count}I", self.data, l_at + 4):
            self.range(*self.cell(seg))

    def subkeys(self, count: int, list_offset: int, parent: int) -> list[tuple[int, tuple[int, ...], str]]:
        """(offset, nk fields, upper-case name) of each subkey, in list order."""
        if not count:
            return []
        if count > MAX_SUBKEYS:
            raise Decline(f"key 0x{parent:x} has more than {MAX_SUBKEYS} subkeys")
        sig, entries = self.list(list_offset)
        if len(entries) > MAX_SUBKEYS:
            raise Decline("more subkeys than the key declares")
        if sig == b"ri":
            leaves, entries = entries, []
            if len(set(leaves)) != len(leaves):
                raise Decline("index root names a leaf twice")
            for leaf in leaves:
                leaf_sig, leaf_entries = self.list(leaf)
                entries += leaf_entries
                if len(entries) > MAX_SUBKEYS:
                    raise Decline("more subkeys than the key declares")
                if leaf_sig == b"ri":
                    raise Decline("nested index root")
        if len(entries) != count:
            raise Decline(f"key 0x{parent:x} lists {len(entries)} subkeys, declares {count}")
        out: list[tuple[int, tuple[int, ...], str]] = []
        seen: set[str] = set()
        for off in entries:
            nk = self.nk(off)
            upper = self.name_upper(nk[5], nk[6])
            if upper in seen:
                raise Decline("subkeys named alike")
            seen.add(upper)
            out.append((off, nk, upper))
        return out

    def list(self, offset: int) -> tuple[bytes, list[int]]:
        at, end = self.cell(offset)
        if end - at < 8:
            raise Decline(f"subkey list 0x{offset:x} too small")
        sig = bytes(self.data[at + 4 : at + 6])
        (count,) = struct.unpack_from("<H", self.data, at + 6)
        width = SUBKEY_LIST_WIDTH.get(sig)
        if width is None:
            raise Decline(f"subkey list 0x{offset:x} signature")
        if at + 8 + width * count > end:
            raise Decline(f"subkey list 0x{offset:x} short")
        self.range(at, at + 8 + width * count)
        if width == 8:  # lf/lh: key cell offset, then a name hint or hash
            return sig, list(struct.unpack_from("<" + "I4x" * count, self.data, at + 8))
        return sig, list(struct.unpack_from(f"<{count}I", self.data, at + 8))


def walk_services_py(
    data: bytes, other: bytes, bits: bytes | bytearray, limit: int, minor: int, offsets: Sequence[int]
) -> Walked | str:
    """The Python walk: :class:`Walked`, or why it declines."""
    walk = _Walk(data, other, bits, limit, minor)
    touched = bytearray(len(offsets))
    bounds = [0]
    try:
        for index, offset in enumerate(offsets):
            touched[index] = walk.service(offset)
            bounds.append(len(walk.nks))
    except Decline as exc:
        return str(exc)
    return Walked(bytes(touched), walk.nks, bounds)


try:
    from hivescan.scm._logwalk import diff_sectors as _diff_c
    from hivescan.scm._logwalk import walk_services as _walk_c
except ImportError:  # the optional extension is not built: the Python code
    _diff_c = None
    _walk_c = None

#: "c" when the compiled walk is used, else "python"
IMPLEMENTATION = "c" if _walk_c is not None else "python"


def walk_services(
    data: bytes, other: bytes, bits: bytes | bytearray, limit: int, minor: int, offsets: Sequence[int]
) -> Walked | str:
    """Walk each service key at ``offsets`` (hive-bins relative) in ``data``; compare with
    ``other`` where ``bits`` says so. :class:`Walked`, or why the walk declines."""
    if limit > len(other) or limit > len(data) or len(bits) < (len(data) >> SECTOR_SHIFT) + 1:
        return "limit or sector map does not fit the files"
    if _walk_c is None:
        return walk_services_py(data, other, bits, limit, minor, offsets)
    result = _walk_c(data, other, bits, limit, minor, list(offsets))
    if isinstance(result, str):
        return result
    return Walked(*result)
