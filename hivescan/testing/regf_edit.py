"""Edit a written hive the way Windows changes a loaded one: append, never lay out again.

Why: a dirty hive's logs hold the pages the kernel dirtied since the last flush. When a
service is installed, Windows does not rewrite the hive: the new key's cells go into free
space or new bins at the end, the parent's subkey list is reallocated (a new cell, the old
one freed), and the parent's ``nk`` gets the new count and list offset. The few 4 KiB pages
holding those cells are all a log entry carries (tens of KB), where a hive built again by
:class:`~hivescan.testing.regf.HiveWriter` moves every later cell and dirties nearly every
page (megabytes of log). :class:`HiveEditor` makes the later state the Windows way, so
:func:`hivescan.testing.logs.make_dirty` of ``[before, after]`` gives logs like real ones.

What an edit writes (offsets from the start of the hive bins, as in the file):

* :meth:`HiveEditor.add_key`: the key and its subtree (values, value lists, subkeys, lists)
  as new cells in new bins at the end; the parent's subkey list as a new cell with the key
  inserted in sorted order (the old cell freed; under an ``ri`` root only the leaf that gains
  the key is reallocated and the root's pointer patched); the parent's subkey count, list
  offset, largest subkey name and (when given) last-written time in place; the reference
  counts of the security cells the new keys use, in place (a descriptor not yet in the hive
  gets a new ``sk`` cell linked into the circular list).
* :meth:`HiveEditor.set_value`: a new ``vk`` (and data cell) and a new value list; the old
  ``vk``, its data and the old list freed; the key's value count, list offset and largest
  name and data sizes in place.

Freed cells are not merged with free neighbours and free space is not reused: new cells
always go to new bins (Windows may fill free space first; the pages dirtied are of the same
kind and number). A leaf that grows past Windows' leaf size is kept a leaf (Windows would
split it under an ``ri`` root); the editor is for the few keys a log adds, not for growing
lists past 1,023 entries.

Format reference: msuhanov/regf "Windows registry file format specification".
"""

from __future__ import annotations

import struct

from hivescan.hive.header import base_block_checksum
from hivescan.testing.regf import (
    BASE_BLOCK_SIZE,
    DEFAULT_KEY_SECURITY,
    HiveWriter,
    WKey,
    WValue,
    _Bins,
    _encode_name,
    _sort_key,
    name_hash,
)

_NO_CELL = 0xFFFFFFFF


class EditError(ValueError):
    """An edit the hive cannot take (a missing key, a list kind the editor does not write)."""


class _Appender(HiveWriter):
    """A HiveWriter whose cells go into an existing hive's new bins and whose security
    descriptors are the hive's own ``sk`` cells when it holds the same bytes."""

    def __init__(self, editor: HiveEditor, subkey_list: str, ri_leaf_size: int, minor_version: int) -> None:
        super().__init__(
            WKey("unused"), subkey_list=subkey_list, ri_leaf_size=ri_leaf_size, minor_version=minor_version
        )
        self.editor = editor

    def _security_cell(self, bins: _Bins, descriptor: bytes | None) -> int:
        return self.editor.security_cell(DEFAULT_KEY_SECURITY if descriptor is None else descriptor)


class HiveEditor:
    """Changes appended to a regf image (bytes of a whole primary file); :meth:`image` gives
    the edited file. The input is never modified."""

    def __init__(self, image: bytes, *, subkey_list: str = "windows", ri_leaf_size: int = 507) -> None:
        if image[:4] != b"regf":
            raise EditError("not a regf file")
        self.base = bytearray(image[:BASE_BLOCK_SIZE])
        bins_size = struct.unpack_from("<I", image, 40)[0]
        self.bins = _Bins(0)
        self.bins.buf = bytearray(image[BASE_BLOCK_SIZE : BASE_BLOCK_SIZE + bins_size])
        self.root = struct.unpack_from("<I", image, 36)[0]
        minor = struct.unpack_from("<I", image, 24)[0]
        self.writer = _Appender(self, subkey_list, ri_leaf_size, minor)
        self._sk_refs: dict[int, int] = {}

    # -- reading cells

    def _payload(self, off: int) -> bytes:
        """A copy of an allocated cell's payload (a copy: the buffer grows while one is held)."""
        size = -struct.unpack_from("<i", self.bins.buf, off)[0]
        if size <= 0:
            raise EditError(f"cell {off:#x} is free")
        return bytes(self.bins.buf[off + 4 : off + size])

    def _name(self, nk: int) -> str:
        cell = self._payload(nk)
        flags, length = struct.unpack_from("<H", cell, 2)[0], struct.unpack_from("<H", cell, 0x48)[0]
        raw = cell[0x4C : 0x4C + length]
        return raw.decode("latin-1") if flags & 0x20 else raw.decode("utf-16-le", "surrogatepass")

    def _children(self, list_off: int) -> list[int]:
        """Offsets of the nk cells a subkey list (leaf or ri root) points to, in order."""
        if list_off == _NO_CELL:
            return []
        cell = self._payload(list_off)
        kind, count = bytes(cell[:2]), struct.unpack_from("<H", cell, 2)[0]
        if kind == b"ri":
            return [c for i in range(count) for c in self._children(struct.unpack_from("<I", cell, 4 + 4 * i)[0])]
        step = 4 if kind == b"li" else 8
        if kind not in (b"li", b"lf", b"lh"):
            raise EditError(f"subkey list {list_off:#x}: unknown kind {kind!r}")
        return [struct.unpack_from("<I", cell, 4 + step * i)[0] for i in range(count)]

    def find(self, path: str) -> int:
        """The nk offset of a key, by backslash path from the root (names compared as Windows does)."""
        node = self.root
        for part in [p for p in path.split("\\") if p]:
            want = _sort_key(part)
            found = [c for c in self._children(self._field(node, 0x1C)) if _sort_key(self._name(c)) == want]
            if not found:
                raise EditError(f"no key {path!r} (missing {part!r})")
            node = found[0]
        return node

    def _field(self, nk: int, at: int) -> int:
        return int(struct.unpack_from("<I", self.bins.buf, nk + 4 + at)[0])

    def _set_field(self, nk: int, at: int, value: int) -> None:
        struct.pack_into("<I", self.bins.buf, nk + 4 + at, value & 0xFFFFFFFF)

    def _free(self, off: int) -> None:
        self.bins.free(off)

    # -- security cells

    def security_cell(self, descriptor: bytes) -> int:
        """The hive's sk cell holding ``descriptor`` (its reference count raised when the
        edit is finished), or a new one linked after the root's."""
        root_sk = self._field(self.root, 0x2C)
        off = root_sk
        while True:
            cell = self._payload(off)
            length = struct.unpack_from("<I", cell, 16)[0]
            if bytes(cell[20 : 20 + length]) == descriptor:
                break
            off = struct.unpack_from("<I", cell, 4)[0]  # flink
            if off == root_sk:
                off = self._new_security_cell(root_sk, descriptor)
                break
        self._sk_refs[off] = self._sk_refs.get(off, 0) + 1
        return off

    def _new_security_cell(self, after: int, descriptor: bytes) -> int:
        following = struct.unpack_from("<I", self._payload(after), 4)[0]
        off = self.bins.alloc(b"sk" + struct.pack("<HIIII", 0, following, after, 0, len(descriptor)) + descriptor)
        struct.pack_into("<I", self.bins.buf, after + 4 + 4, off)  # after.flink
        struct.pack_into("<I", self.bins.buf, following + 4 + 8, off)  # following.blink
        return off

    # -- edits

    def add_key(self, parent_path: str, key: WKey, *, parent_last_write: int | None = None) -> int:
        """Append ``key`` (with its subtree) under the key at ``parent_path``; its nk offset."""
        parent = self.find(parent_path)
        want = _sort_key(key.name)
        list_off = self._field(parent, 0x1C)
        if any(_sort_key(self._name(c)) == want for c in self._children(list_off)):
            raise EditError(f"{parent_path}\\{key.name} exists")
        refs: dict[int, int] = {}
        path = f"{parent_path}\\{key.name}" if parent_path else key.name
        nk = self.writer._key(self.bins, key, parent, path, False, refs)
        self._set_field(parent, 0x1C, self._insert(list_off, key.name, nk))
        self._set_field(parent, 0x14, self._field(parent, 0x14) + 1)
        self._set_field(parent, 0x34, max(self._field(parent, 0x34), len(key.name) * 2))
        if parent_last_write is not None:
            struct.pack_into("<Q", self.bins.buf, parent + 4 + 4, parent_last_write)
        return nk

    def _leaf(self, kind: bytes, entries: list[tuple[str, int]]) -> int:
        if kind == b"li":
            body = b"".join(struct.pack("<I", off) for _, off in entries)
        elif kind == b"lf":
            body = b"".join(struct.pack("<I", off) + _encode_name(n)[0][:4].ljust(4, b"\0") for n, off in entries)
        else:
            body = b"".join(struct.pack("<II", off, name_hash(n)) for n, off in entries)
        return self.bins.alloc(kind + struct.pack("<H", len(entries)) + body)

    def _insert(self, list_off: int, name: str, nk: int) -> int:
        """The offset of the parent's list after ``(name, nk)`` is inserted in sorted order."""
        if list_off == _NO_CELL:
            return self._leaf(b"lh", [(name, nk)])
        cell = self._payload(list_off)
        kind = bytes(cell[:2])
        if kind != b"ri":
            entries = [(self._name(c), c) for c in self._children(list_off)]
            entries.append((name, nk))
            entries.sort(key=lambda e: _sort_key(e[0]))
            self._free(list_off)
            return self._leaf(kind, entries)
        leaves = [struct.unpack_from("<I", cell, 4 + 4 * i)[0] for i in range(struct.unpack_from("<H", cell, 2)[0])]
        want = _sort_key(name)
        index = len(leaves) - 1  # the first leaf whose last name sorts after the new one, else the last
        for i, leaf in enumerate(leaves):
            last = self._children(leaf)[-1]
            if _sort_key(self._name(last)) > want:
                index = i
                break
        leaf_kind = bytes(self._payload(leaves[index])[:2])
        entries = [(self._name(c), c) for c in self._children(leaves[index])] + [(name, nk)]
        entries.sort(key=lambda e: _sort_key(e[0]))
        self._free(leaves[index])
        struct.pack_into("<I", self.bins.buf, list_off + 4 + 4 + 4 * index, self._leaf(leaf_kind, entries))
        return list_off

    def set_value(self, key_path: str, value: WValue) -> int:
        """Add or replace (name compared as Windows does) a value of the key; its vk offset."""
        nk = self.find(key_path)
        count, vlist = self._field(nk, 0x24), self._field(nk, 0x28)
        offsets = [struct.unpack_from("<I", self._payload(vlist), 4 * i)[0] for i in range(count)] if count else []
        vk = self.writer._value_cell(self.bins, value)
        want = _sort_key(value.name)
        for i, old in enumerate(offsets):
            cell = self._payload(old)
            length, flags = struct.unpack_from("<H", cell, 2)[0], struct.unpack_from("<H", cell, 16)[0]
            raw = bytes(cell[20 : 20 + length])
            old_name = raw.decode("latin-1") if flags & 1 else raw.decode("utf-16-le", "surrogatepass")
            if _sort_key(old_name) == want:
                self._free_value(old)
                offsets[i] = vk
                break
        else:
            offsets.append(vk)
        if count:
            self._free(vlist)
        self._set_field(nk, 0x28, self.bins.alloc(b"".join(struct.pack("<I", o) for o in offsets)))
        self._set_field(nk, 0x24, len(offsets))
        self._set_field(nk, 0x3C, max(self._field(nk, 0x3C), len(value.name) * 2))
        self._set_field(nk, 0x40, max(self._field(nk, 0x40), len(value.data)))
        return vk

    def _free_value(self, vk: int) -> None:
        cell = self._payload(vk)
        size, data = struct.unpack_from("<II", cell, 4)
        if not size & 0x80000000 and size:
            head = self._payload(data)
            if bytes(head[:2]) == b"db" and size > 16344:
                segments = struct.unpack_from("<I", head, 4)[0]
                seg_list = self._payload(segments)
                for i in range(struct.unpack_from("<H", head, 2)[0]):
                    self._free(struct.unpack_from("<I", seg_list, 4 * i)[0])
                self._free(segments)
            self._free(data)
        self._free(vk)

    # -- result

    def image(self) -> bytes:
        """The edited primary file: reference counts raised, the last new bin closed, the base
        block's hive-bins size and checksum updated."""
        for off, extra in self._sk_refs.items():
            at = off + 4 + 12
            struct.pack_into("<I", self.bins.buf, at, struct.unpack_from("<I", self.bins.buf, at)[0] + extra)
        self._sk_refs.clear()
        self.bins._close_bin()
        base = bytearray(self.base)
        struct.pack_into("<I", base, 40, len(self.bins.buf))
        struct.pack_into("<I", base, 508, base_block_checksum(bytes(base[:508])))
        return bytes(base) + bytes(self.bins.buf)


__all__ = ["EditError", "HiveEditor"]
