"""Batches: every input once, in order; big first, small last, so the workers finish together."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.triage.inputs import HiveInput
from hivescan.triage.run import plan_batches


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 80), st.integers(1, 16))
def test_batches_cover_every_input_once_and_shrink(count: int, batch_size: int, workers: int) -> None:
    items = [HiveInput(f"/h/{n}") for n in range(count)]
    tasks = plan_batches(items, batch_size, workers)
    assert [item for _, batch in tasks for item in batch] == items  # every input once, in input order
    assert [index for index, _ in tasks] == [(n,) for n in range(len(tasks))]
    sizes = [len(batch) for _, batch in tasks]
    assert all(1 <= size <= batch_size for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # the long batches start first
    if count:
        # the tail: the last batches are at most an even share of what is left when they start
        left = count
        for size in sizes:
            assert size <= max(1, math.ceil(left / (2 * workers)))
            left -= size


def test_sixty_hives_on_two_workers_are_fourteen_batches_not_thirty() -> None:
    """Each batch is a part file per dataset that summarise reads back, and a fixed cost in the
    worker: 60 hives on 2 workers were 30 batches of 2 hives; the tail is still single hives."""
    sizes = [len(batch) for _, batch in plan_batches([HiveInput(f"/h/{n}") for n in range(60)], workers=2)]
    assert sizes == [8, 8, 8, 8, 7, 6, 4, 3, 2, 2, 1, 1, 1, 1]


def test_the_commands_default_batch_size_is_the_librarys() -> None:
    """The CLI states its default as a literal (importing the run module would load pyarrow)."""
    import inspect

    from hivescan.cli.triage import triage
    from hivescan.triage.run import BATCH_SIZE

    assert inspect.signature(triage).parameters["batch_size"].default == BATCH_SIZE
