"""A small writer of real regf (Windows registry hive) files, for tests and fixtures.

Why it exists: hivescan's tests must run on hives whose every planted service, odd value and
corruption is documented, and they must not depend on downloaded data. This writer produces
byte-exact primary hive files that Windows' own parsers (and python-registry, regipy and
regipy-rs) read: base block with checksum, 4 KiB-aligned hbins, allocated cells, nk/vk/sk
records, lf/lh/li/ri subkey lists, inline and big-data (``db``) values.

It also makes deliberately odd hives: unsorted subkey lists, keys deleted into free cells,
arbitrary sequence numbers (dirty hives), raw value bytes of any type.

Format reference: msuhanov/regf "Windows registry file format specification".
Determinism: the same tree always gives the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hivescan.hive.header import base_block_checksum
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ

HBIN_SIZE = 4096
BASE_BLOCK_SIZE = 4096
BIG_DATA_SEGMENT = 16344  # largest data segment of a db record (spec: 16344 bytes)

KEY_VOLATILE = 0x0001
KEY_HIVE_EXIT = 0x0002
KEY_HIVE_ENTRY = 0x0004
KEY_NO_DELETE = 0x0008
KEY_SYM_LINK = 0x0010
KEY_COMP_NAME = 0x0020
VALUE_COMP_NAME = 0x0001

_EPOCH_AS_FILETIME = 116444736000000000


def filetime(when: datetime | str) -> int:
    """FILETIME (100 ns ticks since 1601) of a UTC datetime or ISO 8601 string."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return _EPOCH_AS_FILETIME + (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


DEFAULT_TIME = filetime("2024-01-15T09:30:00Z")


def upcase_unit(ch: str) -> str:
    """Upper-case one UTF-16 unit 1:1 (never changes the length), as the registry hashes names."""
    up = ch.upper()
    return up if len(up) == 1 else ch


def name_hash(name: str) -> int:
    """lh hash of a key name: h = h * 37 + upcase(unit), over UTF-16 units."""
    h = 0
    units = name.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(units), 2):
        unit = units[i] | (units[i + 1] << 8)
        ch = chr(unit) if not 0xD800 <= unit <= 0xDFFF else None
        up = ord(upcase_unit(ch)) if ch is not None else unit
        h = (h * 37 + up) & 0xFFFFFFFF
    return h


def _encode_name(name: str) -> tuple[bytes, bool]:
    """Latin-1 "compressed" name when possible, else UTF-16LE (as Windows does)."""
    try:
        return name.encode("latin-1"), True
    except UnicodeEncodeError:
        return name.encode("utf-16-le", "surrogatepass"), False


def _sort_key(name: str) -> str:
    return "".join(upcase_unit(c) for c in name)


# ---------------------------------------------------------------- value data encoders


def sz(text: str, *, terminate: bool = True) -> bytes:
    """REG_SZ / REG_EXPAND_SZ bytes: UTF-16LE with a NUL terminator (unless told not to)."""
    return text.encode("utf-16-le", "surrogatepass") + (b"\0\0" if terminate else b"")


def multi_sz(items: Iterable[str], *, final_terminator: bool = True) -> bytes:
    """REG_MULTI_SZ bytes: each item NUL-terminated, then an empty string (double NUL)."""
    out = b"".join(sz(i) for i in items)
    return out + (b"\0\0" if final_terminator else b"")


def dword(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


def qword(value: int) -> bytes:
    return struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------- the tree


@dataclass
class WValue:
    """One value as it will be written: name, numeric type, exact data bytes."""

    name: str
    type: int
    data: bytes


@dataclass
class WKey:
    """One key of the tree to write.

    ``security`` is a self-relative security descriptor for the key's sk cell (None: the
    writer's default descriptor). ``deleted`` keys are written and then freed, unlinked from
    their parent, the way Windows leaves a deleted key's cells behind.
    """

    name: str
    values: list[WValue] = field(default_factory=list)
    subkeys: list[WKey] = field(default_factory=list)
    last_write: int = DEFAULT_TIME
    security: bytes | None = None
    class_name: str | None = None
    flags: int = 0
    deleted: bool = False

    def key(self, path: str) -> WKey:
        """The subkey at a backslash path, created on demand (names compared ci)."""
        node = self
        for part in [p for p in path.split("\\") if p]:
            found = next((k for k in node.subkeys if _sort_key(k.name) == _sort_key(part)), None)
            if found is None:
                found = WKey(part, last_write=node.last_write)
                node.subkeys.append(found)
            node = found
        return node

    def set(self, name: str, reg_type: int, data: bytes) -> WKey:
        """Add or replace a value (ci on the name); returns self for chaining."""
        self.values = [v for v in self.values if _sort_key(v.name) != _sort_key(name)]
        self.values.append(WValue(name, reg_type, data))
        return self

    def set_sz(self, name: str, text: str) -> WKey:
        return self.set(name, REG_SZ, sz(text))

    def set_expand_sz(self, name: str, text: str) -> WKey:
        return self.set(name, REG_EXPAND_SZ, sz(text))

    def set_dword(self, name: str, value: int) -> WKey:
        return self.set(name, REG_DWORD, dword(value))

    def set_qword(self, name: str, value: int) -> WKey:
        return self.set(name, REG_QWORD, qword(value))

    def set_multi_sz(self, name: str, items: Iterable[str]) -> WKey:
        return self.set(name, REG_MULTI_SZ, multi_sz(items))

    def set_binary(self, name: str, data: bytes) -> WKey:
        return self.set(name, REG_BINARY, data)

    def walk(self, prefix: str = "") -> Iterator[tuple[str, WKey]]:
        path = f"{prefix}\\{self.name}" if prefix else self.name
        yield path, self
        for sub in self.subkeys:
            yield from sub.walk(path)


# ---------------------------------------------------------------- security descriptors


def sid_bytes(sid: str) -> bytes:
    """Binary SID from its string form, e.g. ``S-1-5-32-544``."""
    parts = sid.split("-")
    if parts[0].upper() != "S" or len(parts) < 3:
        raise ValueError(f"not a SID: {sid!r}")
    revision = int(parts[1])
    authority = int(parts[2], 16) if parts[2].lower().startswith("0x") else int(parts[2])  # 0x... above 2**32
    subs = [int(p) for p in parts[3:]]
    return (
        struct.pack("<BB", revision, len(subs))
        + authority.to_bytes(6, "big")
        + b"".join(struct.pack("<I", s) for s in subs)
    )


def ace_bytes(ace_type: int, flags: int, mask: int, sid: str) -> bytes:
    body = struct.pack("<I", mask) + sid_bytes(sid)
    return struct.pack("<BBH", ace_type, flags, 4 + len(body)) + body


def acl_bytes(aces: Iterable[bytes], revision: int = 2) -> bytes:
    aces = list(aces)
    body = b"".join(aces)
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body


def security_descriptor(
    owner: str | None,
    group: str | None,
    dacl: bytes | None,
    sacl: bytes | None = None,
    control: int = 0,
) -> bytes:
    """Self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6), parts in the order SACL, DACL, owner,
    group as Windows usually stores them."""
    control |= 0x8000  # SE_SELF_RELATIVE
    parts: list[bytes] = []
    offsets = {"owner": 0, "group": 0, "sacl": 0, "dacl": 0}
    pos = 20
    for name, blob in (("sacl", sacl), ("dacl", dacl)):
        if blob is not None:
            offsets[name] = pos
            parts.append(blob)
            pos += len(blob)
    if sacl is not None:
        control |= 0x0010
    if dacl is not None:
        control |= 0x0004
    for name, sid in (("owner", owner), ("group", group)):
        if sid is not None:
            blob = sid_bytes(sid)
            offsets[name] = pos
            parts.append(blob)
            pos += len(blob)
    header = struct.pack(
        "<BBHIIII", 1, 0, control, offsets["owner"], offsets["group"], offsets["sacl"], offsets["dacl"]
    )
    return header + b"".join(parts)


KEY_ALL_ACCESS = 0xF003F
KEY_READ = 0x20019

#: O:BAG:SYD:(A;CIID;KA;;;BA)(A;CIID;KA;;;SY)(A;CIID;KR;;;BU) -- a typical Services key ACL.
DEFAULT_KEY_SECURITY = security_descriptor(
    "S-1-5-32-544",
    "S-1-5-18",
    acl_bytes(
        [
            ace_bytes(0, 0x12, KEY_ALL_ACCESS, "S-1-5-32-544"),
            ace_bytes(0, 0x12, KEY_ALL_ACCESS, "S-1-5-18"),
            ace_bytes(0, 0x12, KEY_READ, "S-1-5-32-545"),
        ]
    ),
)


# ---------------------------------------------------------------- the writer


@dataclass
class BuiltHive:
    """The bytes of a written hive and where its key cells landed (for targeted corruption)."""

    data: bytes
    key_offsets: dict[str, int]  # key path (from the root's children) -> nk cell offset
    value_offsets: dict[str, int]  # "key path:value name" -> vk cell offset
    root_offset: int

    def write(self, path: str | object) -> None:
        from pathlib import Path

        Path(str(path)).write_bytes(self.data)


class _Bins:
    """Cell allocator over a growing run of hbins."""

    def __init__(self, timestamp: int) -> None:
        self.buf = bytearray()
        self.bin_start = 0
        self.bin_end = 0
        self.cursor = 0
        self.timestamp = timestamp
        self.owner_stack: list[list[int]] = []

    def _new_bin(self, need: int) -> None:
        self._close_bin()
        size = HBIN_SIZE
        while size - 32 < need:
            size += HBIN_SIZE
        start = len(self.buf)
        header = b"hbin" + struct.pack("<III", start, size, 0) + struct.pack("<I", 0)
        header += struct.pack("<Q", self.timestamp if start == 0 else 0) + struct.pack("<I", 0)
        self.buf += header + b"\0" * (size - 32)
        self.bin_start, self.bin_end, self.cursor = start, start + size, start + 32

    def _close_bin(self) -> None:
        if self.bin_end and self.cursor < self.bin_end:
            # the rest of a bin is one free cell (positive size)
            struct.pack_into("<i", self.buf, self.cursor, self.bin_end - self.cursor)
            self.cursor = self.bin_end

    def alloc(self, payload: bytes) -> int:
        """Place an allocated cell holding ``payload``; returns its offset (from bins start)."""
        size = (len(payload) + 4 + 7) & ~7
        if not self.bin_end or self.cursor + size > self.bin_end:
            self._new_bin(size)
        off = self.cursor
        struct.pack_into("<i", self.buf, off, -size)
        self.buf[off + 4 : off + 4 + len(payload)] = payload
        self.cursor += size
        for owned in self.owner_stack:
            owned.append(off)
        return off

    def reserve(self, length: int) -> int:
        return self.alloc(b"\0" * length)

    def put(self, off: int, payload: bytes) -> None:
        self.buf[off + 4 : off + 4 + len(payload)] = payload

    def free(self, off: int) -> None:
        size = struct.unpack_from("<i", self.buf, off)[0]
        if size < 0:
            struct.pack_into("<i", self.buf, off, -size)

    def finish(self) -> bytes:
        if not self.bin_end:
            self._new_bin(0)
        self._close_bin()
        return bytes(self.buf)


# Windows' choice of subkey list, measured on the real hives with hivescan.testing.shape:
# every list is an lh leaf (the largest: 967 entries on Windows 10 1709, 467 on Windows 7)
# except the very largest keys (2,923 and 2,548 subkeys), which get an ri over lh leaves of
# 507 entries (Windows 7; Windows 10's have grown to 506-892 by later inserts)
WINDOWS_LEAF_MAX = 1023
WINDOWS_RI_LEAF = 507


class HiveWriter:
    """Write a :class:`WKey` tree as a regf primary file.

    subkey_list: ``lh`` (NT 5.1+ default), ``lf``, ``li``, ``ri`` (an index root over
    lh leaves of ``ri_leaf_size`` entries on every key), or ``windows``: what Windows writes,
    an ``lh`` leaf up to :data:`WINDOWS_LEAF_MAX` entries and an ``ri`` over ``lh`` leaves of
    ``ri_leaf_size`` entries (give 507, :data:`WINDOWS_RI_LEAF`) only above that.
    """

    def __init__(
        self,
        root: WKey,
        *,
        minor_version: int = 5,
        primary_sequence: int = 1,
        secondary_sequence: int | None = None,
        last_written: int = DEFAULT_TIME,
        file_name: str = "SYSTEM",
        subkey_list: str = "lh",
        ri_leaf_size: int = 512,
        sort_subkeys: bool = True,
        checksum: int | None = None,
    ) -> None:
        self.root = root
        self.minor_version = minor_version
        self.primary_sequence = primary_sequence
        self.secondary_sequence = primary_sequence if secondary_sequence is None else secondary_sequence
        self.last_written = last_written
        self.file_name = file_name
        self.subkey_list = subkey_list
        self.ri_leaf_size = ri_leaf_size
        self.sort_subkeys = sort_subkeys
        self.checksum = checksum
        self._sk: dict[bytes, int] = {}
        self._sk_order: list[int] = []
        self.key_offsets: dict[str, int] = {}
        self.value_offsets: dict[str, int] = {}

    # -- cells

    def _security_cell(self, bins: _Bins, descriptor: bytes | None) -> int:
        blob = DEFAULT_KEY_SECURITY if descriptor is None else descriptor
        if blob not in self._sk:
            payload = b"sk" + struct.pack("<HIIII", 0, 0, 0, 0, len(blob)) + blob
            off = bins.alloc(payload)
            self._sk[blob] = off
            self._sk_order.append(off)
        return self._sk[blob]

    def _finish_security(self, bins: _Bins, refcounts: dict[int, int]) -> None:
        """Link sk cells into their circular list and set reference counts."""
        order = self._sk_order
        for i, off in enumerate(order):
            flink = order[(i + 1) % len(order)]
            blink = order[(i - 1) % len(order)]
            struct.pack_into("<II", bins.buf, off + 4 + 4, flink, blink)
            struct.pack_into("<I", bins.buf, off + 4 + 12, refcounts.get(off, 0))

    def _value_cell(self, bins: _Bins, value: WValue) -> int:
        data = value.data
        name_bytes, compressed = _encode_name(value.name)
        if len(data) <= 4:
            size_field = len(data) | 0x80000000
            data_off = int.from_bytes(data.ljust(4, b"\0"), "little")
        elif len(data) > BIG_DATA_SEGMENT and self.minor_version >= 4:
            segs = [bins.alloc(data[i : i + BIG_DATA_SEGMENT]) for i in range(0, len(data), BIG_DATA_SEGMENT)]
            seg_list = bins.alloc(b"".join(struct.pack("<I", s) for s in segs))
            data_off = bins.alloc(b"db" + struct.pack("<HI", len(segs), seg_list) + b"\0" * 4)
            size_field = len(data)
        else:
            data_off = bins.alloc(data)
            size_field = len(data)
        payload = b"vk" + struct.pack(
            "<HIIIHH", len(name_bytes), size_field, data_off, value.type, VALUE_COMP_NAME if compressed else 0, 0
        )
        return bins.alloc(payload + name_bytes)

    def _reserve_subkey_list(self, bins: _Bins, count: int) -> tuple[int, list[int]]:
        """Reserve the list cell(s) for ``count`` subkeys before the subkeys are written, so a
        parent's structures come before its children's (as in hives Windows saves): a
        truncated file then loses later keys, not the root's list."""
        width = 4 if self.subkey_list == "li" else 8
        if self._index_root(count):
            sizes = [min(self.ri_leaf_size, count - i) for i in range(0, count, self.ri_leaf_size)]
            leaves = [bins.reserve(4 + 8 * n) for n in sizes]
            return bins.reserve(4 + 4 * len(leaves)), leaves
        return bins.reserve(4 + width * count), []

    def _index_root(self, count: int) -> bool:
        """Whether a key of ``count`` subkeys gets an ``ri`` index root over leaves."""
        return self.subkey_list == "ri" or (self.subkey_list == "windows" and count > WINDOWS_LEAF_MAX)

    def _fill_subkey_list(self, bins: _Bins, head: int, leaves: list[int], children: list[tuple[str, int]]) -> None:
        def leaf_bytes(entries: list[tuple[str, int]], leaf_kind: str) -> bytes:
            if leaf_kind == "li":
                body = b"".join(struct.pack("<I", off) for _, off in entries)
            elif leaf_kind == "lf":
                body = b"".join(
                    struct.pack("<I", off) + _encode_name(name)[0][:4].ljust(4, b"\0") for name, off in entries
                )
            else:
                body = b"".join(struct.pack("<II", off, name_hash(name)) for name, off in entries)
            return leaf_kind.encode() + struct.pack("<H", len(entries)) + body

        if self._index_root(len(children)):
            for index, leaf in enumerate(leaves):
                chunk = children[index * self.ri_leaf_size : (index + 1) * self.ri_leaf_size]
                bins.put(leaf, leaf_bytes(chunk, "lh"))
            bins.put(head, b"ri" + struct.pack("<H", len(leaves)) + b"".join(struct.pack("<I", x) for x in leaves))
        else:
            bins.put(head, leaf_bytes(children, "lh" if self.subkey_list == "windows" else self.subkey_list))

    def _key(self, bins: _Bins, key: WKey, parent: int, path: str, is_root: bool, refs: dict[int, int]) -> int:
        owned: list[int] = []
        bins.owner_stack.append(owned)
        name_bytes, compressed = _encode_name(key.name)
        nk_off = bins.reserve(0x4C + len(name_bytes))
        if path:
            self.key_offsets[path] = nk_off
        sk_off = self._security_cell(bins, key.security)
        refs[sk_off] = refs.get(sk_off, 0) + 1

        class_off, class_len = 0xFFFFFFFF, 0
        if key.class_name is not None:
            cb = key.class_name.encode("utf-16-le")
            class_off, class_len = bins.alloc(cb), len(cb)

        vlist_off = 0xFFFFFFFF
        if key.values:
            voffs = []
            for value in key.values:
                voff = self._value_cell(bins, value)
                self.value_offsets[f"{path}:{value.name}"] = voff
                voffs.append(voff)
            vlist_off = bins.alloc(b"".join(struct.pack("<I", o) for o in voffs))

        live = [k for k in key.subkeys if not k.deleted]
        if self.sort_subkeys:
            live = sorted(live, key=lambda k: _sort_key(k.name))
        slist_off, leaves = self._reserve_subkey_list(bins, len(live)) if live else (0xFFFFFFFF, [])
        child_entries = []
        for sub in live:
            sub_path = f"{path}\\{sub.name}" if path else sub.name
            child_entries.append((sub.name, self._key(bins, sub, nk_off, sub_path, False, refs)))
        for sub in key.subkeys:
            if sub.deleted:
                sub_path = f"{path}\\{sub.name}" if path else sub.name
                freed_owner: list[int] = []
                bins.owner_stack.append(freed_owner)
                self._key(bins, sub, nk_off, sub_path, False, refs)
                bins.owner_stack.pop()
                for off in freed_owner:
                    if off not in self._sk.values():
                        bins.free(off)
        if child_entries:
            self._fill_subkey_list(bins, slist_off, leaves, child_entries)

        flags = key.flags | (KEY_COMP_NAME if compressed else 0)
        if is_root:
            flags |= KEY_HIVE_ENTRY | KEY_NO_DELETE
        max_sub = max((len(k.name) * 2 for k in live), default=0)
        max_vname = max((len(v.name) * 2 for v in key.values), default=0)
        max_vdata = max((len(v.data) for v in key.values), default=0)
        nk = b"nk" + struct.pack(
            "<HQIIIIIIIIIIIIIIIHH",
            flags,
            key.last_write,
            0,  # access bits
            parent,
            len(live),
            0,  # volatile subkeys
            slist_off,
            0xFFFFFFFF,
            len(key.values),
            vlist_off,
            sk_off,
            class_off,
            max_sub,
            0,
            max_vname,
            max_vdata,
            0,  # work var
            len(name_bytes),
            class_len,
        )
        bins.put(nk_off, nk + name_bytes)
        bins.owner_stack.pop()
        return nk_off

    def build(self) -> BuiltHive:
        bins = _Bins(self.last_written)
        refs: dict[int, int] = {}
        root_off = self._key(bins, self.root, 0xFFFFFFFF, "", True, refs)
        self._finish_security(bins, refs)
        data = bins.finish()
        base = bytearray(BASE_BLOCK_SIZE)
        struct.pack_into(
            "<4sIIQIIIIIII",
            base,
            0,
            b"regf",
            self.primary_sequence,
            self.secondary_sequence,
            self.last_written,
            1,
            self.minor_version,
            0,  # primary file
            1,  # direct memory load
            root_off,
            len(data),
            1,
        )
        fname = self.file_name.encode("utf-16-le")[:62]
        base[48 : 48 + len(fname)] = fname
        struct.pack_into(
            "<I", base, 508, self.checksum if self.checksum is not None else base_block_checksum(bytes(base))
        )
        return BuiltHive(bytes(base) + data, self.key_offsets, self.value_offsets, root_off)


def write_hive(root: WKey, **options: object) -> BuiltHive:
    """Convenience: ``HiveWriter(root, **options).build()``."""
    return HiveWriter(root, **options).build()  # type: ignore[arg-type]
