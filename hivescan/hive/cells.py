"""Bounded reads of single regf cells: nk, vk (+ value data), sk, subkey lists.

Why hivescan reads cells itself (measured; see docs/design.md "Why a cell reader"):
regipy-rs navigates the key tree quickly, but it returns values already decoded, and the
decoding loses evidence: a 2-byte DWORD comes back as a plain int, REG_MULTI_SZ items after
an empty string are merged into the list, REG_DWORD_BIG_ENDIAN data comes back empty and
odd-length strings decode to garbage. It also follows subkey-list entries that point at
cells which are not key records (the damaged XP hive yields 60 junk "keys"). So the
backend takes the tree from regipy-rs and checks every key cell here, and value bytes
are read here exactly as stored.

The records these reads return (:class:`NkCell`, :class:`VkCell`), the flag bits and name
decoding live in :mod:`hivescan.hive.cellrecords`; their names stay importable from here.

Every read is bounds-checked against the file; nothing here trusts an offset, a size or a
count. Failures raise :class:`CellError`, which callers turn into diagnostics.

Reference: msuhanov/regf specification (cells, nk, vk, sk, lf/lh/li/ri, db).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hivescan.hive.cellrecords import (
    BIG_DATA_SEGMENT,
    KEY_COMP_NAME,
    KEY_SYM_LINK,
    LAYER_INHERIT_CLASS,
    LAYER_SEMANTICS,
    NO_OFFSET,
    SUBKEY_LIST_WIDTH,
    VALUE_COMP_NAME,
    VALUE_TOMBSTONE,
    CellError,
    NkCell,
    VkCell,
    decode_name,
    decode_utf16,
    layer_semantics,
)
from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.model import RawValue

__all__ = [
    "BASE_BLOCK_SIZE",
    "BIG_DATA_SEGMENT",
    "KEY_COMP_NAME",
    "KEY_SYM_LINK",
    "LAYER_INHERIT_CLASS",
    "LAYER_SEMANTICS",
    "NO_OFFSET",
    "SUBKEY_LIST_WIDTH",
    "VALUE_COMP_NAME",
    "VALUE_TOMBSTONE",
    "CellError",
    "Cells",
    "NkCell",
    "VkCell",
    "decode_name",
    "decode_utf16",
    "layer_semantics",
]

# the nk fields hivescan keeps (0x4C bytes): signature, flags, last write, (access bits), layered-key
# bit fields, (spare), parent,
# subkeys, volatile subkeys, subkey list, (volatile subkey list), values, value list,
# security, class offset, (five size maxima and a work variable), name length, class length
_NK = struct.Struct("<2sHQxB2xIIII4xIIII20xHH")
_VK = struct.Struct("<2sHIIIHH")  # 0x14 bytes
_CELL_VK = struct.Struct("<i2sHIIIHH")  # a cell's size, then a vk record: 0x18 bytes
_I32 = struct.Struct("<i")
_LIST_HEAD = struct.Struct("<i2sH")  # a cell's size, then a subkey list's signature and count
_LIST_WIDTH = {b"lf": 8, b"lh": 8, b"li": 4, b"ri": 4}  # bytes per entry of each kind of subkey list
_new_tuple = tuple.__new__  # NamedTuples built without their Python-level __new__ (thousands per hive)


class Cells:
    """Random access to the cells of one hive image held in memory."""

    def __init__(self, data: bytes, *, minor_version: int = 5, max_value_bytes: int = 1 << 20) -> None:
        self.data = data
        self.size = len(data)
        self.minor_version = minor_version
        self.max_value_bytes = max_value_bytes

    # -- generic cells

    def cell(self, offset: int, *, allow_free: bool = False) -> tuple[int, int, bool]:
        """(start, end, allocated) of the payload of the cell at ``offset``."""
        if offset == NO_OFFSET or offset % 8 != 0 or offset < 0:
            raise CellError(f"invalid cell offset {offset:#x}")
        start = BASE_BLOCK_SIZE + offset
        if start + 4 > self.size:
            raise CellError(f"cell offset 0x{offset:x} is beyond the end of the file")
        (raw_size,) = struct.unpack_from("<i", self.data, start)
        allocated = raw_size < 0
        size = -raw_size if allocated else raw_size
        if size < 8:
            raise CellError(f"cell at 0x{offset:x} has an impossible size {raw_size}")
        if start + size > self.size:
            raise CellError(f"cell at 0x{offset:x} (size {size}) runs past the end of the file")
        if not allocated and not allow_free:
            raise CellError(f"cell at 0x{offset:x} is free (unallocated)")
        return start + 4, start + size, allocated

    # -- keys

    def nk(self, offset: int, *, allow_free: bool = False) -> NkCell:
        data = self.data
        start = BASE_BLOCK_SIZE + offset
        raw_size = 0 if offset % 8 or offset < 0 or start + 4 > self.size else _I32.unpack_from(data, start)[0]
        if raw_size <= -8 and start - raw_size <= self.size:  # cell(): an allocated cell in bounds
            start, end, allocated = start + 4, start - raw_size, True
        else:  # every check with its own message (or a free cell, when allowed)
            start, end, allocated = self.cell(offset, allow_free=allow_free)
        if end - start < _NK.size:
            raise CellError(f"cell at 0x{offset:x} is too small for a key record")
        (sig, flags, last_write, layered, parent, subkeys, volatile, subkey_list, values, value_list, security,
         class_offset, name_len, class_len) = _NK.unpack_from(data, start)  # fmt: skip
        if sig != b"nk":
            raise CellError(f"cell at 0x{offset:x} is not a key record (signature {sig!r})")
        name_start = start + _NK.size
        if name_start + name_len > end:
            raise CellError(f"key record at 0x{offset:x}: name length {name_len} exceeds the cell")
        raw = data[name_start : name_start + name_len]
        name = raw.decode("latin-1") if flags & KEY_COMP_NAME else decode_name(raw, False)
        # built without NkCell's Python-level __new__ (one per key read)
        return _new_tuple(
            NkCell,
            (offset, allocated, flags, last_write, parent, subkeys, volatile, subkey_list, values, value_list,
             security, class_offset, class_len, name, raw, layered),
        )  # fmt: skip

    def subkey_offsets(self, list_offset: int) -> list[int]:
        """Offsets listed by an lf/lh/li/ri subkey list; any fault in the list raises.

        The strict form of :meth:`subkey_list`: what may be handed to a parser library.
        """
        offsets, problems = self.subkey_list(list_offset)
        if problems:
            raise CellError(problems[0])
        return offsets

    def subkey_list(self, list_offset: int) -> tuple[list[int], list[str]]:
        """Every readable entry of a subkey list, and a note per fault found in it.

        Why this exists: the parser libraries follow an ``ri`` (index root) entry wherever it
        points. An ``ri`` whose entry names itself, or two ``ri`` lists naming each other,
        send regipy-rs into an endless walk that allocates until the process dies. Windows
        writes one level of ``ri`` above ``lf``/``lh``/``li`` leaves, each leaf once, so
        anything else is refused here: a nested ``ri`` (which covers self and mutual
        references), a leaf named twice (which would multiply the entries), a count larger
        than the cell holds. The entries that can still be read are kept (the count is cut
        to what the cell holds, with a note), so a damaged list loses only what is damaged.
        Raises :class:`CellError` when the list cell itself is unreadable.
        """
        problems: list[str] = []
        sig, entries = self._list_entries(list_offset, problems)
        if sig != b"ri":
            return entries, problems
        out: list[int] = []
        seen: set[int] = set()
        for index, leaf in enumerate(entries):
            where = f"index root 0x{list_offset:x} entry {index} (0x{leaf:x})"
            if leaf in seen:
                problems.append(f"{where} names a leaf list already listed")
                continue
            seen.add(leaf)
            try:
                leaf_sig, leaf_entries = self._list_entries(leaf, problems)
            except CellError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if leaf_sig == b"ri":
                why = "itself" if leaf == list_offset else "another index root"
                problems.append(f"{where} points at {why} (nested index roots: a cycle or damage)")
                continue
            out.extend(leaf_entries)
        return out, problems

    def subkey_list_fault(self, list_offset: int) -> str | None:
        """Why a subkey list must not be handed to a parser library, or None when it is sound.

        The cheap check behind :meth:`subkey_list` (no entries unpacked from leaves): the
        list cell and, under an ``ri``, every leaf cell is allocated, in bounds, of a list
        signature, holds the entries it counts, and no leaf is named twice or is an ``ri``.
        """
        # the common cases first, each cell judged from one unpack (_sound_list): a leaf list,
        # or an index root over distinct sound leaves; anything else takes the careful path
        # below, which also says what is wrong
        sig = self._sound_list(list_offset)
        if sig is not None and sig != b"ri":
            return None
        if sig == b"ri":
            start = BASE_BLOCK_SIZE + list_offset
            (count,) = struct.unpack_from("<H", self.data, start + 6)
            leaves = struct.unpack_from(f"<{count}I", self.data, start + 8)
            sound = self._sound_list
            if len(set(leaves)) == count and all(sound(leaf) not in (None, b"ri") for leaf in leaves):
                return None
        try:
            sig, count, _ = self._list_header(list_offset)
            if sig != b"ri":
                return None
            start = BASE_BLOCK_SIZE + list_offset + 8
            seen: set[int] = set()
            for (leaf,) in struct.iter_unpack("<I", self.data[start : start + 4 * count]):
                if leaf in seen:
                    return f"index root 0x{list_offset:x} names leaf 0x{leaf:x} twice"
                seen.add(leaf)
                if self._list_header(leaf)[0] == b"ri":
                    what = "itself" if leaf == list_offset else f"another index root 0x{leaf:x}"
                    return f"index root 0x{list_offset:x} points at {what} (a cycle or damage)"
        except CellError as exc:
            return str(exc)
        return None

    def _sound_list(self, list_offset: int) -> bytes | None:
        """The signature of a list cell :meth:`_list_header` accepts, from one unpack; None
        when it is not plainly sound (then ``_list_header`` says why, or accepts it)."""
        start = BASE_BLOCK_SIZE + list_offset
        if list_offset % 8 or list_offset < 0 or start + 8 > self.size:
            return None
        raw_size, sig, count = _LIST_HEAD.unpack_from(self.data, start)
        width = _LIST_WIDTH.get(sig, 0)
        if width and raw_size <= -8 and start - raw_size <= self.size and 4 + count * width <= -raw_size - 4:
            return sig
        return None

    def _list_cell(self, list_offset: int) -> tuple[int, int, bytes, int, int]:
        """(start, end, signature, declared count, entry width) of a subkey list cell."""
        start, end, _ = self.cell(list_offset)
        if end - start < 4:
            raise CellError(f"cell at 0x{list_offset:x} is too small for a subkey list")
        sig = bytes(self.data[start : start + 2])  # the data may be a bytearray (a replayed image)
        width = SUBKEY_LIST_WIDTH.get(sig)
        if width is None:
            raise CellError(f"cell at 0x{list_offset:x} is not a subkey list (signature {sig!r})")
        (count,) = struct.unpack_from("<H", self.data, start + 2)
        return start, end, sig, count, width

    def _list_header(self, list_offset: int) -> tuple[bytes, int, int]:
        """Signature, entry count and entry width of a list cell whose entries all fit in it."""
        start, end, sig, count, width = self._list_cell(list_offset)
        if 4 + count * width > end - start:
            raise CellError(f"subkey list at 0x{list_offset:x} claims {count} entries, more than its cell holds")
        return sig, count, width

    def _list_entries(self, list_offset: int, problems: list[str]) -> tuple[bytes, list[int]]:
        """Signature and entries (the nk or leaf offsets) of one list cell, cut to its cell."""
        start, end, sig, count, width = self._list_cell(list_offset)
        room = (end - start - 4) // width
        if count > room:
            problems.append(
                f"subkey list at 0x{list_offset:x} claims {count} entries, more than its cell holds ({room} read)"
            )
            count = room
        return sig, [struct.unpack_from("<I", self.data, start + 4 + i * width)[0] for i in range(count)]

    def class_name(self, nk: NkCell) -> str | None:
        if nk.class_offset == NO_OFFSET or not nk.class_length:
            return None
        start, end, _ = self.cell(nk.class_offset)
        raw = self.data[start : min(end, start + nk.class_length)]
        return decode_name(raw, False)

    def security(self, sk_offset: int, *, allow_free: bool = False) -> bytes:
        """The self-relative security descriptor held by an sk cell."""
        start, end, _ = self.cell(sk_offset, allow_free=allow_free)
        if end - start < 20 or self.data[start : start + 2] != b"sk":
            raise CellError(f"cell at 0x{sk_offset:x} is not a security record")
        (length,) = struct.unpack_from("<I", self.data, start + 16)
        if start + 20 + length > end:
            raise CellError(f"security record at 0x{sk_offset:x}: descriptor length {length} exceeds the cell")
        return self.data[start + 20 : start + 20 + length]

    # -- values

    def value_offsets(self, nk: NkCell) -> list[int]:
        if not nk.value_count:
            return []
        start, end, _ = self.cell(nk.value_list)
        if start + 4 * nk.value_count > end:
            raise CellError(
                f"value list at 0x{nk.value_list:x} is shorter than the {nk.value_count} values its key claims"
            )
        return list(struct.unpack_from(f"<{nk.value_count}I", self.data, start))

    def values(self, nk: NkCell, *, inline: bool = True) -> tuple[list[RawValue], list[str]]:
        """Every value of a key, byte-exact, plus a note per value that could not be read.

        The common case (an allocated vk cell with inline or single-cell data) is parsed
        inline here: a rebuild reads thousands of values. ``inline=False`` reads every value
        the careful way (:meth:`vk`), which the inlined path must match (a test checks).
        """
        out: list[RawValue] = []
        problems: list[str] = []
        count = nk.value_count
        if not count:
            return out, problems
        data, size, unpack_cell_vk, unpack_i32 = self.data, self.size, _CELL_VK.unpack_from, _I32.unpack_from
        new = _new_tuple  # RawValue(...) without its Python-level __new__: thousands per hive
        at = BASE_BLOCK_SIZE + nk.value_list  # the value list: value_offsets() inlined for the common case
        raw_size = 0 if nk.value_list % 8 or at + 4 > size else unpack_i32(data, at)[0]
        if inline and raw_size <= -8 and at - raw_size <= size and 4 + 4 * count <= -raw_size:
            offsets: Sequence[int] = struct.unpack_from(f"<{count}I", data, at + 4)
        else:
            offsets = self.value_offsets(nk)  # raises with the precise reason
        most = min(BIG_DATA_SEGMENT, self.max_value_bytes)
        for index, off in enumerate(offsets):
            start = BASE_BLOCK_SIZE + off  # the fast path: an allocated vk cell, data inline or in one cell
            if inline and not off % 8 and start + 24 <= size:
                raw_size, sig, name_len, size_field, data_off, reg_type, flags, _ = unpack_cell_vk(data, start)
                name_end = start + 24 + name_len
                fits = raw_size <= -24 and name_end <= start - raw_size <= size
                if fits and sig == b"vk" and not flags & VALUE_TOMBSTONE:
                    if flags & VALUE_COMP_NAME:
                        name = data[start + 24 : name_end].decode("latin-1")
                    else:
                        name = decode_name(data[start + 24 : name_end], False)
                    if size_field & 0x80000000:
                        if size_field <= 0x80000004:  # up to 4 bytes inline, in the data-offset field
                            value = data[start + 12 : start + 12 + (size_field & 0x7FFFFFFF)]
                            out.append(new(RawValue, (name, reg_type, value, "cells", True, ())))
                            continue
                    elif size_field <= most:
                        at = BASE_BLOCK_SIZE + data_off
                        if not data_off % 8 and at + 4 <= size:
                            raw_size = unpack_i32(data, at)[0]
                            if raw_size < 0 and at - raw_size <= size and size_field <= -raw_size - 4:
                                value = data[at + 4 : at + 4 + size_field]
                                out.append(new(RawValue, (name, reg_type, value, "cells", True, ())))
                                continue
            try:  # the careful path: every check with its own message, big data, caps
                vk = self.vk(off)
            except CellError as exc:
                problems.append(f"value {index} (offset 0x{off:x}): {exc}")
                continue
            out.append(RawValue(vk.name, vk.type, vk.data, "cells", True, vk.notes))
        return out, problems

    def vk(self, offset: int, *, allow_free: bool = False) -> VkCell:
        # the generic cell() checks, inlined: this runs for every value of every key read
        start = BASE_BLOCK_SIZE + offset
        if offset % 8 or offset < 0 or start + 4 + _VK.size > self.size:
            start, end, _ = self.cell(offset, allow_free=allow_free)  # raises with the precise reason
        else:
            (raw_size,) = _I32.unpack_from(self.data, start)
            if raw_size >= 0 and not allow_free:
                raise CellError(f"cell at 0x{offset:x} is free (unallocated)")
            end = start + (raw_size if raw_size >= 0 else -raw_size)
            if end > self.size or end - start < 4 + _VK.size:
                raise CellError(f"cell at 0x{offset:x} has an impossible size {raw_size} for a value record")
            start += 4
        sig, name_len, size_field, data_off, reg_type, flags, _spare = _VK.unpack_from(self.data, start)
        if sig != b"vk":
            raise CellError(f"cell at 0x{offset:x} is not a value record (signature {sig!r})")
        name_start = start + _VK.size
        if name_start + name_len > end:
            raise CellError(f"value record at 0x{offset:x}: name length {name_len} exceeds the cell")
        raw_name = self.data[name_start : name_start + name_len]
        if not name_len:
            name = ""
        elif flags & VALUE_COMP_NAME:
            name = raw_name.decode("latin-1")
        else:
            name = decode_name(raw_name, False)
        notes: list[str] = []
        if flags & VALUE_TOMBSTONE:
            notes.append(
                "value_tombstone: marked as a tombstone (layered keys): in a differencing hive it deletes the value "
                "of this name in the layer below; it has no data of its own"
            )
        if size_field & 0x80000000:
            size = size_field & 0x7FFFFFFF
            if size <= 4:
                data = data_off.to_bytes(4, "little")[:size]
                return VkCell(offset, name, raw_name, reg_type, data, size, True, False, tuple(notes))
        data, declared, inline, big, more = self._value_data(size_field, data_off, allow_free)
        return VkCell(offset, name, raw_name, reg_type, data, declared, inline, big, (*notes, *more))

    def _value_data(self, size_field: int, data_off: int, allow_free: bool) -> tuple[bytes, int, bool, bool, list[str]]:
        notes: list[str] = []
        if size_field & 0x80000000:
            size = size_field & 0x7FFFFFFF
            if size > 4:
                notes.append(f"value_inline_oversized: inline data claims {size} bytes; only 4 can be stored inline")
                size = 4
            return data_off.to_bytes(4, "little")[:size], size_field & 0x7FFFFFFF, True, False, notes
        size = size_field
        if size == 0:
            return b"", 0, False, False, notes
        want = min(size, self.max_value_bytes)
        if want < size:
            notes.append(f"value_truncated_by_tool: {size} bytes declared, the first {want} read (max_value_bytes)")
        start, end, _ = self.cell(data_off, allow_free=allow_free)
        if size > BIG_DATA_SEGMENT and self.minor_version >= 4 and self.data[start : start + 2] == b"db":
            return self._big_data(start, end, size, want, notes, allow_free), size, False, True, notes
        avail = end - start
        if want > avail:
            notes.append(f"value_data_short: the data cell holds {avail} bytes of the {size} declared")
            want = avail
        return self.data[start : start + want], size, False, False, notes

    def _big_data(self, start: int, end: int, size: int, want: int, notes: list[str], allow_free: bool) -> bytes:
        if end - start < 8:
            raise CellError("big-data record too small")
        count, seg_list = struct.unpack_from("<HI", self.data, start + 2)
        ls, le, _ = self.cell(seg_list, allow_free=allow_free)
        if ls + 4 * count > le:
            raise CellError(f"big-data segment list claims {count} segments, more than its cell holds")
        chunks: list[bytes] = []
        got = 0
        for i in range(count):
            if got >= want:
                break
            (seg,) = struct.unpack_from("<I", self.data, ls + 4 * i)
            ss, se, _ = self.cell(seg, allow_free=allow_free)
            take = min(BIG_DATA_SEGMENT, se - ss, want - got)
            chunks.append(self.data[ss : ss + take])
            got += take
        if got < want:
            notes.append(f"value_data_short: the big-data segments hold {got} bytes of the {size} declared")
        return b"".join(chunks)
