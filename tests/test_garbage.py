"""The collection after each script run (spec §3) stays a full one, made cheap by freezing what
survived the first: every cycle a script makes is still freed, nothing someone else froze is
thawed, and a server hands its frozen objects back when it finishes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from damaris_ref.runtime.scripts.garbage import IterationCollector


class Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """A two-node cycle nobody else references; the weak reference dies when it is collected."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    """Run with no frozen objects, and leave none (whatever the test did)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_first_collection_freezes_what_survived_and_later_ones_still_free_new_cycles(
    nothing_frozen,
):
    collector = IterationCollector()
    survivor = Node()
    collector.collect()
    assert gc.get_freeze_count() > 0
    # frozen objects are in no generation: the collections after scripts no longer walk it
    assert not any(obj is survivor for obj in gc.get_objects())
    for _ in range(3):  # the cycles scripts make in later iterations
        made = cycle()
        collector.collect()
        assert made() is None


def test_a_frozen_object_that_becomes_garbage_is_freed_once_released(nothing_frozen):
    collector = IterationCollector()
    kept = cycle()
    strong = kept()  # alive at the first collection: frozen with the rest
    collector.collect()
    del strong
    collector.collect()
    assert kept() is not None  # frozen: the collections after scripts do not look at it
    collector.release()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert kept() is None


def test_objects_someone_else_froze_stay_frozen(nothing_frozen):
    gc.freeze()
    theirs = gc.get_freeze_count()
    collector = IterationCollector()
    collector.collect()
    made = cycle()
    collector.collect()
    assert made() is None
    collector.release()
    # still frozen (an unfreeze would leave 0) and nothing frozen on top; the count may only
    # fall, by what other threads of the process freed meanwhile
    assert 0 < gc.get_freeze_count() <= theirs


def test_release_is_idempotent_and_a_second_collector_does_not_freeze_again(nothing_frozen):
    first, second = IterationCollector(), IterationCollector()
    first.collect()
    frozen = gc.get_freeze_count()
    made_since = [[] for _ in range(1000)]  # a second freeze would add these
    second.collect()
    # the second saw the first's freeze: nothing frozen on top, nothing unfrozen; the count may
    # only fall, by what other threads of the process freed meanwhile
    assert 0 < gc.get_freeze_count() <= frozen
    second.release()
    assert 0 < gc.get_freeze_count() <= frozen  # it froze nothing, so it thaws nothing
    first.release()
    first.release()
    assert gc.get_freeze_count() == 0
    assert made_since  # alive until here
