"""The names the Dask bridge gives what it puts on a scheduler: blocks, leases, global arrays
and the datasets kept for analysis outside the simulation (spec §4–§5).

Every such string is made (and a dataset name read back) here, so a name a user sees in a
scheduler's keys or datasets has one definition.
"""

from __future__ import annotations

from typing import NamedTuple

from damaris_ref.core.data import block_key


class BlockId(NamedTuple):
    """A block of a variable in one iteration: the client that wrote it and its number there.

    Kept as numbers while the global array is planned; shown as the ``P<source>_B<block>`` of
    ``DamarisData`` wherever a message names it.
    """

    source: int
    block: int

    def __str__(self) -> str:
        return block_key(self.source, self.block)


class KeptDataset(NamedTuple):
    """What the name of a dataset kept by ``global_array(..., keep=N)`` says."""

    name: str
    simulation: str
    magic: str
    variable: str
    iteration: str


def block_key_name(
    simulation: str, magic: str, variable: str, iteration: int, source: int, block: int
) -> str:
    """The name of one block: unique per run, variable, iteration, source and block (a key
    for scripts that put single blocks on a scheduler; the bridge itself keeps each server's
    blocks under one key, :func:`segment_key`, since this release)."""
    return f"damaris-{simulation}-{magic}-{variable}-i{iteration}-P{source}-B{block}"


def array_name(simulation: str, magic: str, variable: str, iteration: int) -> str:
    """The name of a global array: its chunks are the keys ``(name, i, j, ...)``."""
    return f"damaris-{simulation}-{magic}-{variable}-i{iteration}"


def segment_key(simulation: str, magic: str, variable: str, iteration: int, server: int) -> str:
    """The Dask key of the blocks one server delivered to its worker for one call."""
    return f"{array_name(simulation, magic, variable, iteration)}-S{server}"


def dataset_name(simulation: str, magic: str, variable: str, iteration: int) -> str:
    """Name under which a kept iteration's global array is published on the scheduler."""
    return f"damaris/{simulation}/{magic}/{variable}/{iteration}"


def kept_dataset(name: object) -> KeptDataset | None:
    """The parts of a :func:`dataset_name`, or None for any other dataset's name."""
    parts = str(name).split("/")
    if len(parts) != 5 or parts[0] != "damaris":
        return None
    _, simulation, magic, variable, iteration = parts
    return KeptDataset(str(name), simulation, magic, variable, iteration)
