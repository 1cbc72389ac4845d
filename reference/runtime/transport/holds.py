"""Which block locations a server may hand back to their clients while Dask workers read some
of them in place (``docs/dask.md``, "Who owns a block's bytes").

A block in a client's slice of the node buffer belongs to its server from the block's notice
until the server hands its location back. The server hands it back once the iteration's
scripts are over, and, if a Dask key reads the block in place, only once that **hold** has
ended too: its worker no longer reads the bytes (the key and every view of it are gone, or the
worker copied them into memory of its own, or the worker's process ended). When a client
waits for space, the server has the oldest hold on that client's waiting blocks copied out,
one at a time, until the client has room. It first gives the hold as long to end by itself
as the copy would take (:func:`~damaris_ref.dask_bridge.hand_off.copy_grace`; Dask usually
lets go of the last iteration's array a few milliseconds after the next one is built): a
client never waits more than twice the copy it would otherwise wait for, and a copy is made
only when it saves that wait.

Pure bookkeeping (no memory, MPI or Dask), so tests can drive it through any schedule.
"""

from __future__ import annotations

from collections.abc import Iterable

from damaris_ref.dask_bridge.hand_off import Location


class Holds:
    """The live holds of one server, and the locations they keep from their clients."""

    def __init__(self) -> None:
        self._holds: dict[int, tuple[Location, ...]] = {}  # insertion order: oldest first
        self._readers: dict[Location, int] = {}  # live holds per held location
        self._waiting: set[Location] = set()  # scripts over, held: handed back at the end
        self._copying: set[int] = set()  # holds being copied out
        self._sizes: dict[int, int] = {}  # bytes each live hold reads
        self._next = 0

    def hold(self, locations: Iterable[Location], nbytes: int = 0) -> int:
        """A Dask key now reads the ``nbytes`` of the blocks at ``locations`` in place: the id
        of this hold (ids grow, so that the oldest hold is the smallest)."""
        places = tuple(dict.fromkeys(locations))
        for place in places:
            if place in self._waiting:
                raise ValueError(
                    f"a block at {place} (client, offset) is held while the block written "
                    "there before still is: the client wrote into bytes not handed back"
                )
            self._readers[place] = self._readers.get(place, 0) + 1
        hold, self._next = self._next, self._next + 1
        self._holds[hold] = places
        self._sizes[hold] = nbytes
        return hold

    def release(self, location: Location) -> bool:
        """The scripts of the block at ``location`` are over: True if it goes back now, False
        if a hold keeps it until that hold ends."""
        if location not in self._readers:
            return True
        self._waiting.add(location)
        return False

    def end(self, hold: int) -> list[Location]:
        """``hold`` ended: the locations that go back to their clients now (none for a hold
        that had ended already)."""
        places = self._holds.pop(hold, ())
        self._copying.discard(hold)
        self._sizes.pop(hold, None)
        back = []
        for place in places:
            left = self._readers[place] - 1
            if left:
                self._readers[place] = left
                continue
            del self._readers[place]
            if place in self._waiting:
                self._waiting.remove(place)
                back.append(place)
        return back

    def end_all(self) -> list[Location]:
        """Every hold ended at once (their worker's process ended)."""
        return [place for hold in list(self._holds) for place in self.end(hold)]

    def to_copy_out(self, client: int) -> int | None:
        """The hold to copy out for ``client``, which waits for space: the oldest one on a
        block of it whose scripts are over, unless one is being copied out already (the
        client asks again if that was not enough); None when none keeps its space."""
        hold = self.next_for(client)
        if hold is not None:
            self._copying.add(hold)
        return hold

    def next_for(self, client: int) -> int | None:
        """The hold :meth:`to_copy_out` would choose now, without choosing it."""
        if any(place[0] == client for hold in self._copying for place in self._holds[hold]):
            return None
        for hold, places in self._holds.items():
            if any(place[0] == client and place in self._waiting for place in places):
                return hold
        return None

    def size(self, hold: int) -> int:
        """The bytes a live hold reads."""
        return self._sizes[hold]

    def live(self) -> list[int]:
        """The live holds, oldest first."""
        return list(self._holds)
