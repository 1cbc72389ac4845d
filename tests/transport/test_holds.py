"""The hold ledger: a server hands a block's location back only once its scripts are over and
no Dask key reads it in place, and a waiting client gets the oldest hold on its blocks copied
out. Checked on fixed cases and on random schedules of writes, holds, releases, ends and
copy-outs against a model that simulates the clients' bytes and the worker's reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from damaris_ref.runtime.transport.holds import Holds


def test_a_block_no_hold_reads_goes_back_when_its_scripts_are_over():
    holds = Holds()
    assert holds.release((0, 64)) is True


def test_a_held_block_goes_back_with_the_end_of_its_last_hold():
    holds = Holds()
    first, second = holds.hold([(0, 0)]), holds.hold([(0, 0), (1, 0)])
    assert holds.release((0, 0)) is False
    assert holds.release((1, 0)) is False
    assert holds.end(first) == []  # the second still reads (0, 0)
    assert holds.end(second) == [(0, 0), (1, 0)]
    assert holds.end(second) == []  # told twice: nothing more goes back


def test_a_hold_that_ends_before_the_scripts_leaves_the_block_to_them():
    holds = Holds()
    hold = holds.hold([(0, 0)])
    assert holds.end(hold) == []
    assert holds.release((0, 0)) is True


def test_the_end_of_every_hold_gives_back_what_waited():
    holds = Holds()
    holds.hold([(0, 0)])
    holds.hold([(1, 128)])
    holds.release((0, 0))
    assert sorted(holds.end_all()) == [(0, 0)]
    assert holds.live() == []
    assert holds.release((1, 128)) is True


def test_a_waiting_client_gets_its_oldest_hold_copied_out_one_at_a_time():
    holds = Holds()
    old, other, new = holds.hold([(0, 0)]), holds.hold([(1, 0)]), holds.hold([(0, 64)])
    for place in [(0, 0), (1, 0), (0, 64)]:
        holds.release(place)
    assert holds.to_copy_out(0) == old
    assert holds.to_copy_out(0) is None  # one at a time: it asks again if that was not enough
    assert holds.end(old) == [(0, 0)]
    assert holds.to_copy_out(0) == new
    assert holds.to_copy_out(1) == other


def test_blocks_whose_scripts_still_run_are_not_copied_out():
    holds = Holds()
    holds.hold([(0, 0)])
    assert holds.to_copy_out(0) is None  # the client waits for the scripts anyway


def test_a_block_written_over_one_still_held_is_refused():
    holds = Holds()
    holds.hold([(0, 0)])
    holds.release((0, 0))
    with pytest.raises(ValueError, match=r"at \(0, 0\) .* the client wrote into bytes not handed"):
        holds.hold([(0, 0)])


# --- random schedules ---------------------------------------------------------------------

PLACES = 4  # locations per client
CLIENTS = 2
step = st.one_of(
    st.tuples(st.just("write"), st.integers(0, CLIENTS - 1), st.integers(0, PLACES - 1)),
    st.tuples(st.just("hold"), st.integers(0, 50)),
    st.tuples(st.just("scripts over"), st.integers(0, 50)),
    st.tuples(st.just("view dies"), st.integers(0, 50)),
    st.tuples(st.just("client waits"), st.integers(0, CLIENTS - 1)),
    st.tuples(st.just("copy out"), st.integers(0, 50)),
    st.just(("worker dies",)),
)


class Model:
    """Clients, their bytes, the server's ledger and the worker's reads, run step by step."""

    def __init__(self) -> None:
        self.holds = Holds()
        self.bytes: dict[tuple[int, int], int] = {}  # what each location holds now
        self.free = {(c, p) for c in range(CLIENTS) for p in range(PLACES)}
        self.arrived: list[tuple[int, int]] = []  # written, scripts not over, in order
        self.version = 0
        #: live holds -> what their worker read at each place when leased (or copied out)
        self.reads: dict[int, dict[tuple[int, int], int]] = {}
        self.copied: set[int] = set()  # holds whose worker has copies of its own
        self.asked: list[int] = []  # copy-outs asked, not done yet

    def give_back(self, places: list[tuple[int, int]]) -> None:
        for place in places:
            assert place not in self.free, f"{place} handed back twice"
            self.free.add(place)

    def apply(self, action: tuple) -> None:
        kind = action[0]
        if kind == "write":
            place = (action[1], action[2])
            if place in self.free:  # a client writes only where it was handed space
                self.free.remove(place)
                self.version += 1
                self.bytes[place] = self.version
                self.arrived.append(place)
        elif kind == "hold" and self.arrived:  # a script holds blocks whose scripts run
            places = self.arrived[action[1] % len(self.arrived) :][:2]
            hold = self.holds.hold(places)
            self.reads[hold] = {place: self.bytes[place] for place in places}
        elif kind == "scripts over" and self.arrived:
            place = self.arrived.pop(action[1] % len(self.arrived))
            if self.holds.release(place):
                self.give_back([place])
        elif kind == "view dies" and self.reads:
            hold = sorted(self.reads)[action[1] % len(self.reads)]
            self.end(hold)
        elif kind == "client waits":
            hold = self.holds.to_copy_out(action[1])
            if hold is not None:
                self.asked.append(hold)
        elif kind == "copy out" and self.asked:
            hold = self.asked.pop(action[1] % len(self.asked))
            if hold in self.reads:
                self.copied.add(hold)  # the worker's bytes are its own from now on
                self.end(hold)
        elif kind == "worker dies":
            self.reads.clear()
            self.asked.clear()
            self.give_back(self.holds.end_all())

    def end(self, hold: int) -> None:
        self.check_reads(hold)
        del self.reads[hold]
        self.give_back(self.holds.end(hold))

    def check_reads(self, hold: int | None = None) -> None:
        """No live hold whose worker reads the node buffer sees bytes a client rewrote."""
        for live, read in self.reads.items():
            if (hold is None or live == hold) and live not in self.copied:
                for place, version in read.items():
                    assert self.bytes[place] == version, f"hold {live} read a rewritten {place}"


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=60))
def test_no_schedule_lets_a_client_overwrite_bytes_a_worker_reads(actions):
    model = Model()
    for action in actions:
        model.apply(action)
        model.check_reads()
        for place in model.free:  # what is free is neither held nor waiting for scripts
            assert place not in model.arrived
            assert all(place not in read for read in model.reads.values()), place
    # once every hold ends and every script is over, every location is back
    for place in list(model.arrived):
        model.apply(("scripts over", model.arrived.index(place)))
    for hold in list(model.reads):
        model.end(hold)
    assert len(model.free) == CLIENTS * PLACES
