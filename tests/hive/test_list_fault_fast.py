"""The one-unpack checks of subkey lists agree with the careful ones (issue 13, "rebuild").

``Cells.subkey_list_fault`` runs for every key with subkeys before a parser library may list
them. Its common cases (a leaf list ``lf``/``lh``/``li``, or an index root ``ri`` over distinct
sound leaves, each cell allocated and holding the entries it counts) are decided from one
unpack per cell; everything else goes through ``Cells._list_header``. The reference below is
the function as it was before the fast paths; hypothesis feeds both random lists of cells
(sizes, signatures and counts near the edges, index roots naming the other cells, themselves,
each other or nothing).
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.hive.cells import CellError, Cells
from hivescan.hive.header import BASE_BLOCK_SIZE


def reference_fault(cells: Cells, list_offset: int) -> str | None:
    """``subkey_list_fault`` as it was: ``_list_header`` of the list and of every leaf."""
    try:
        sig, count, _ = cells._list_header(list_offset)
        if sig != b"ri":
            return None
        start = BASE_BLOCK_SIZE + list_offset + 8
        seen: set[int] = set()
        for (leaf,) in struct.iter_unpack("<I", cells.data[start : start + 4 * count]):
            if leaf in seen:
                return f"index root 0x{list_offset:x} names leaf 0x{leaf:x} twice"
            seen.add(leaf)
            if cells._list_header(leaf)[0] == b"ri":
                what = "itself" if leaf == list_offset else f"another index root 0x{leaf:x}"
                return f"index root 0x{list_offset:x} points at {what} (a cycle or damage)"
    except CellError as exc:
        return str(exc)
    return None


SIGNATURES = [b"lf", b"lh", b"li", b"ri", b"ri", b"nk", b"\x00\x00"]
SLOT = 64  # each generated cell starts at a multiple of this (cell offsets 0, 64, 128, ...)


@st.composite
def hive_of_lists(draw: st.DrawFn) -> bytes:
    """A base block and up to five list cells, 64 bytes apart, with sizes near the edges."""
    cells = draw(st.integers(1, 5))
    offsets = [SLOT * i for i in range(cells)]
    body = bytearray(SLOT * cells + draw(st.integers(0, 40)))
    for at in offsets:
        sig = draw(st.sampled_from(SIGNATURES))
        width = 8 if sig in (b"lf", b"lh") else 4
        to_end = len(body) - at
        raw_size = draw(
            st.one_of(
                st.sampled_from([-SLOT, -(SLOT - 8), -16, -8, -7, 0, 8, SLOT, -to_end, -(to_end + 8)]),
                st.integers(-(len(body) - at + 16), 16),
                st.integers(-(1 << 31), (1 << 31) - 1),
            )
        )
        room = max(0, (-raw_size - 8) // width)  # the most entries the cell holds
        count = draw(st.one_of(st.integers(max(0, room - 1), room + 1), st.integers(0, 6), st.integers(0, 0xFFFF)))
        count = min(count, 0xFFFF)
        struct.pack_into("<i2sH", body, at, raw_size, sig, count)
        targets = st.one_of(st.sampled_from(offsets), st.sampled_from([0xFFFFFFFF, 4, 1 << 20]), st.integers(0, 400))
        entries = draw(st.lists(targets, max_size=min(count, (SLOT - 8) // 4)))
        for i, entry in enumerate(entries):
            struct.pack_into("<I", body, at + 8 + 4 * i, entry)
    return bytes(BASE_BLOCK_SIZE) + bytes(body)


@settings(max_examples=800, deadline=None)
@given(data=hive_of_lists(), extra=st.one_of(st.sampled_from([0xFFFFFFFF, -8, 8]), st.integers(-16, 400)))
def test_fast_list_checks_agree_with_the_careful_ones(data: bytes, extra: int) -> None:
    cells = Cells(data)
    for list_offset in [*range(0, len(data) - BASE_BLOCK_SIZE, SLOT), extra]:
        assert cells.subkey_list_fault(list_offset) == reference_fault(cells, list_offset), list_offset
