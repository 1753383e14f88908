"""The replayed image is made in one copy (``Run.image``: views of the primary and the logs
joined per 4 KiB page or 512-byte sector); it must hold exactly the bytes of the plain way
(copy the primary, write each page run in order, set the base block: ``Run._image_copied``),
whatever the runs: overlapping (a later run wins), past the primary's end (zeros between),
a primary longer than the image size, runs on other boundaries."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.logs import PageRef
from hivescan.hive.logs.state import Run

LOG = bytes(range(256)) * 256  # 64 KiB of distinct-looking bytes to copy pages from


@st.composite
def _runs(draw: st.DrawFn) -> tuple[bytes, int, list[tuple[PageRef, bytes]]]:
    grain = draw(st.sampled_from([4096, 512, 8, 1]))
    primary = bytes([7]) * (BASE_BLOCK_SIZE + draw(st.integers(0, 12)) * 4096)
    size = BASE_BLOCK_SIZE + draw(st.integers(1, 16)) * 4096
    pages = []
    for _ in range(draw(st.integers(0, 12))):
        units = size // grain
        offset = draw(st.integers(0, units - 1 - BASE_BLOCK_SIZE // grain)) * grain
        room = (size - BASE_BLOCK_SIZE - offset) // grain
        length = draw(st.integers(1, max(1, min(room, 8192 // grain)))) * grain
        log_offset = draw(st.integers(0, (len(LOG) - length) // grain)) * grain
        pages.append((PageRef(offset, length, log_offset), LOG))
    return primary, size, pages


@settings(max_examples=300, deadline=None)
@given(case=_runs())
def test_joined_image_equals_the_copied_image(case: tuple[bytes, int, list[tuple[PageRef, bytes]]]) -> None:
    primary, size, pages = case
    run = Run(primary, [])
    base = bytes([0xBB]) * BASE_BLOCK_SIZE
    joined = run.image(size, pages, base)
    assert isinstance(joined, bytes)
    assert joined == run._image_copied(size, pages, base)
    assert len(joined) == max(len(primary), size)
