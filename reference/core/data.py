"""Blocks, their names, the ``DamarisData`` dictionary and reassembly by offsets (spec §2–§3).

Pure NumPy: this is the single place that decides key names (``P<src>_B<block>``,
``S<server>_I<iteration>_<magic>``), type strings and the exact layout scripts receive, so
engines, transports and the conformance suite never spell them out themselves. DamarisData
and its parts are built only here, typed by the ``TypedDict`` classes below (plain dicts at
run time, key for key what spec §3 defines).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from damaris_ref.core.errors import UsageError

if TYPE_CHECKING:
    from damaris_ref.core.topology import Topology

__all__ = [
    "DAMARIS_DATA_KEYS",
    "DAMARIS_ENV_KEYS",
    "DASK_ENV_KEYS",
    "TYPE_NAMES",
    "Block",
    "DamarisData",
    "DamarisEnv",
    "DaskEnv",
    "IterationData",
    "ReassemblyError",
    "SortListEntry",
    "VariableEntry",
    "block_key",
    "damaris_data",
    "damaris_env",
    "dask_env",
    "dtype_of",
    "iteration_data",
    "iteration_tag",
    "new_magic_number",
    "parse_block_key",
    "read_only",
    "reassemble",
    "reassemble_entry",
    "type_string_of",
    "variable_entry",
]

#: config type name -> (NumPy dtype, DamarisData ``type_string``)
_TYPES: dict[str, tuple[np.dtype, str]] = {
    "int": (np.dtype(np.int32), "_int"),
    "integer": (np.dtype(np.int32), "_int"),
    "float": (np.dtype(np.float32), "_float"),
    "real": (np.dtype(np.float32), "_float"),
    "double": (np.dtype(np.float64), "_double"),
    "long": (np.dtype(np.int64), "_longint"),
    "short": (np.dtype(np.int16), "_short"),
    "char": (np.dtype(np.int8), "_char"),
    "character": (np.dtype(np.int8), "_char"),
}

#: every variable type a config may name (``int``, ``double``...; docs/config.md)
TYPE_NAMES: tuple[str, ...] = tuple(_TYPES)

_BLOCK_KEY = re.compile(r"P(\d+)_B(\d+)")


class DamarisEnv(TypedDict):
    """``DamarisData["damaris_env"]``: layout facts every server reports identically (§1, §3)."""

    is_dedicated_node: bool
    is_dedicated_core: bool
    servers_per_node: int
    clients_per_node: int
    ranks_per_node: int
    cores_per_node: int
    number_of_nodes: int
    simulation_name: str
    simulation_magic_number: str


class DaskEnv(TypedDict):
    """``DamarisData["dask_env"]``; ``dask_scheduler_file`` is "" without a scheduler (§5)."""

    dask_scheduler_file: str
    dask_workers_name: str
    dask_nworkers: int
    dask_threads_per_worker: int


#: one ``sort_list`` entry: ``[S<server>_I<iteration>_<magic>, P<src>_B<block>, offsets]``
SortListEntry = list[Any]


class VariableEntry(TypedDict):
    """``iteration_data[<variable>]``: one variable's blocks on one server."""

    numpy_data: dict[str, np.ndarray]
    sort_list: list[SortListEntry]
    type_string: str


#: ``DamarisData["iteration_data"]``: ``"iteration"`` (an int) plus one
#: :class:`VariableEntry` per routed variable, keyed by its name
IterationData = dict[str, "int | VariableEntry"]


class DamarisData(TypedDict):
    """What a script receives as ``DamarisData``, its keys in the order upstream inserts them."""

    dask_env: DaskEnv
    damaris_env: DamarisEnv
    iteration_data: IterationData


#: the top-level keys of DamarisData, in the order upstream inserts them
DAMARIS_DATA_KEYS: tuple[str, ...] = tuple(DamarisData.__annotations__)
#: the keys of ``DamarisData["damaris_env"]`` (spec §3)
DAMARIS_ENV_KEYS: tuple[str, ...] = tuple(DamarisEnv.__annotations__)
#: the keys of ``DamarisData["dask_env"]`` (spec §3)
DASK_ENV_KEYS: tuple[str, ...] = tuple(DaskEnv.__annotations__)


def dtype_of(type_name: str) -> np.dtype:
    """NumPy dtype of a config type name (``int`` -> int32, ``double`` -> float64, ...)."""
    return _TYPES[_checked_type(type_name)][0]


def type_string_of(type_name: str) -> str:
    """DamarisData ``type_string`` of a config type name (``int`` -> ``"_int"``)."""
    return _TYPES[_checked_type(type_name)][1]


def _checked_type(type_name: str) -> str:
    key = type_name.lower()
    if key not in _TYPES:
        raise ValueError(f"unknown type {type_name!r}; valid types: {', '.join(TYPE_NAMES)}")
    return key


def new_magic_number() -> str:
    """A fresh decimal magic number: the same on every rank of one run (it is broadcast),
    different between runs (time in ms followed by random digits)."""
    return f"{int(time.time() * 1000) % 10**10}{secrets.randbelow(10**4):04d}"


def block_key(source: int, block: int) -> str:
    """The ``numpy_data`` key of a block: ``P<source>_B<block>``."""
    return f"P{source}_B{block}"


def parse_block_key(key: str) -> tuple[int, int]:
    """``(source, block)`` of a ``P<source>_B<block>`` name (ValueError for anything else)."""
    match = _BLOCK_KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"{key!r} is not a block name; expected P<source>_B<block>")
    return int(match[1]), int(match[2])


def iteration_tag(server: int, iteration: int, magic: str) -> str:
    """The first field of a ``sort_list`` entry: ``S<server>_I<iteration>_<magic>``."""
    return f"S{server}_I{iteration}_{magic}"


@dataclass(slots=True)
class Block:
    """One block a client wrote: which variable, who wrote it, when, where it sits, its data.

    Treated as immutable, but not a frozen dataclass: one is built per write on the client
    and again on the server, and a frozen one takes about three times as long to build.
    """

    variable: str
    source: int
    block: int
    iteration: int
    offsets: tuple[int, ...]
    data: np.ndarray

    @property
    def key(self) -> str:
        """The block's ``P<source>_B<block>`` name."""
        return block_key(self.source, self.block)


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (scripts must not write into server memory)."""
    view = array.view()
    view.flags.writeable = False
    return view


def variable_entry(
    blocks: Iterable[Block], server: int, magic: str, type_string: str
) -> VariableEntry:
    """The ``iteration_data[<variable>]`` entry for one variable's blocks on one server.

    Entries are ordered by (source, block) so the dictionary is the same whatever order the
    blocks arrived in; scripts must still sort ``sort_list`` by offsets (spec §3).
    """
    ordered = sorted(blocks, key=lambda b: (b.source, b.block))
    return VariableEntry(
        numpy_data={b.key: read_only(b.data) for b in ordered},
        sort_list=[
            [iteration_tag(server, b.iteration, magic), b.key, list(b.offsets)] for b in ordered
        ],
        type_string=type_string,
    )


def iteration_data(
    iteration: int,
    blocks_by_variable: Mapping[str, Iterable[Block]],
    server: int,
    magic: str,
    type_strings: Mapping[str, str],
) -> IterationData:
    """The ``iteration_data`` dictionary: ``iteration`` plus one entry per routed variable."""
    data: IterationData = {"iteration": int(iteration)}
    for name, blocks in blocks_by_variable.items():
        data[name] = variable_entry(blocks, server, magic, type_strings[name])
    return data


def damaris_env(topology: Topology, simulation_name: str, magic: str) -> DamarisEnv:
    """``damaris_env`` of a run: the layout of ``topology`` (``ranks_per_node`` is the cores
    of a node, as upstream reports it), the simulation's name and the run's magic number."""
    return DamarisEnv(
        is_dedicated_node=topology.is_dedicated_node,
        is_dedicated_core=topology.is_dedicated_core,
        servers_per_node=topology.servers_per_node,
        clients_per_node=topology.clients_per_node,
        ranks_per_node=topology.cores_per_node,
        cores_per_node=topology.cores_per_node,
        number_of_nodes=topology.number_of_nodes,
        simulation_name=simulation_name,
        simulation_magic_number=magic,
    )


def dask_env(
    scheduler_file: str, workers_name: str, nworkers: int, threads_per_worker: int
) -> DaskEnv:
    """``dask_env`` of one pyscript (``scheduler_file`` "" when no scheduler is reachable)."""
    return DaskEnv(
        dask_scheduler_file=scheduler_file,
        dask_workers_name=workers_name,
        dask_nworkers=nworkers,
        dask_threads_per_worker=threads_per_worker,
    )


def damaris_data(
    damaris_env: DamarisEnv, dask_env: DaskEnv, iteration: IterationData
) -> DamarisData:
    """Assemble ``DamarisData`` with exactly the three top-level keys of spec §3, in the order
    upstream inserts them (a script printing ``list(DD)`` sees the same on both); each run
    gets its own copies of the environment dictionaries."""
    return DamarisData(
        dask_env=DaskEnv(**dask_env),
        damaris_env=DamarisEnv(**damaris_env),
        iteration_data=dict(iteration),
    )


#: the earlier name of this error: a deprecated alias, kept for one release
ReassemblyError = UsageError


def reassemble(
    pieces: Iterable[tuple[Sequence[int], np.ndarray]],
    origin: Sequence[int] | None = None,
    shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Place each ``(offsets, array)`` at its offsets and return the covered box.

    The box starts at ``origin`` (default: the smallest offsets) and has ``shape`` (default:
    up to the largest block end). Any cell covered twice or never raises a
    :class:`~damaris_ref.core.errors.UsageError` naming the cell, so a wrong routing can never
    pass as a plausible array. Arrival order does not matter.
    """
    items = [(tuple(int(o) for o in offsets), np.asarray(a)) for offsets, a in pieces]
    if not items:
        raise UsageError("no blocks to reassemble")
    ndim = items[0][1].ndim
    for offsets, array in items:
        if len(offsets) != ndim or array.ndim != ndim:
            raise UsageError(
                f"block at offsets {list(offsets)} with shape {array.shape} does not have "
                f"{ndim} dimensions like the first block"
            )
    low = (
        tuple(origin)
        if origin is not None
        else tuple(min(o[d] for o, _ in items) for d in range(ndim))
    )
    if len(low) != ndim:
        raise UsageError(f"box origin {list(low)} does not have {ndim} dimensions")
    if shape is None:
        shape = tuple(max(o[d] + a.shape[d] for o, a in items) - low[d] for d in range(ndim))
    if len(shape) != ndim:
        raise UsageError(f"box shape {list(shape)} does not have {ndim} dimensions")
    result = np.empty(tuple(shape), dtype=np.result_type(*(a.dtype for _, a in items)))
    covered = np.zeros(tuple(shape), dtype=np.uint8)
    for offsets, array in items:
        start = tuple(o - lo for o, lo in zip(offsets, low, strict=True))
        if any(s < 0 or s + n > m for s, n, m in zip(start, array.shape, shape, strict=True)):
            raise UsageError(
                f"block at offsets {list(offsets)} with shape {array.shape} lies outside the "
                f"box at {list(low)} of shape {list(shape)}"
            )
        region = tuple(slice(s, s + n) for s, n in zip(start, array.shape, strict=True))
        if covered[region].any():
            cell = np.argwhere(covered[region])[0] + np.array(start) + np.array(low)
            raise UsageError(
                f"overlap: block at offsets {list(offsets)} covers cell {cell.tolist()} "
                "already covered by another block"
            )
        covered[region] = 1
        result[region] = array
    if not covered.all():
        cell = np.argwhere(covered == 0)[0] + np.array(low)
        raise UsageError(f"gap: cell {cell.tolist()} is covered by no block")
    return result


def reassemble_entry(entry: Mapping[str, Any]) -> np.ndarray:
    """Rebuild one server's part of a variable from its ``iteration_data`` entry."""
    data = entry["numpy_data"]
    return reassemble((offsets, data[key]) for _tag, key, offsets in entry["sort_list"])
