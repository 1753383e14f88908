"""The collector pause around a rebuild: state restored, young objects promoted, cycles still found."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hivescan.gcpause import gc_paused


class _Node:
    def __init__(self) -> None:
        self.other: object = None


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    """Each test starts with the collector on and leaves it as it found it (a test that turns
    it off must not leave every later test of the suite running without it)."""
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation))


def test_disabled_inside_and_restored_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # re-entrant: the inner block leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_exception() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    with gc_paused():
        kept = _Node()
    assert not gc.isenabled()
    assert _in_generation(kept, 0)  # nothing promoted: the caller manages the collector


def test_objects_made_inside_go_to_the_oldest_generation() -> None:
    gc.collect()
    with gc_paused():
        kept = [_Node() for _ in range(2000)]
    assert not _in_generation(kept[0], 0)
    assert _in_generation(kept[0], 2)
    assert gc.get_count()[0] < 700  # no young collection pending that would walk them all


def test_a_cycle_made_inside_is_still_collected() -> None:
    with gc_paused():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
    del a, b
    assert ref() is not None  # a cycle: reference counting alone does not free it
    gc.collect()
    assert ref() is None


def test_objects_the_program_froze_stay_frozen() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with gc_paused():
            made = _Node()
        assert gc.get_freeze_count() == frozen
        assert _in_generation(made, 0)  # not promoted: that would have unfrozen the program's objects
    finally:
        gc.unfreeze()
