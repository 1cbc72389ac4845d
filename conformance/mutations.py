"""Deliberately broken variants of the in-process reference: the suite's self-test.

``--impl reference --mutation NAME`` runs the suite against the reference with one classic
port bug plugged in. Each must make the suite fail with a message naming what differs; the
meta-tests in ``tests/conformance`` hold the suite to that. A mutation is a substitute at one
of the reference's documented seams (:mod:`damaris_ref.runtime.seams`: the routing rule, or a filter
on the blocks scripts get), or, for a port that misreads its config file, the config it then
acts on; never a patch of its code, and never a change of the model the suite's expectations
come from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from damaris_ref.core.data import Block
from damaris_ref.core.topology import Mode, Topology, compute_topology
from damaris_ref.runtime.seams import DEFAULT_SEAMS, Seams
from damaris_ref.runtime.server import BlockFilter

#: name -> what the broken variant does
MUTATIONS: dict[str, str] = {
    "round-robin-routing": "client c is routed to server c % servers, not to its group",
    "drop-block": "server 0 loses the last block of every variable at iteration 0",
    "offsets-off-by-one": "every block's last offset is one too large",
    "p-numbering-from-one": "blocks are named P<source + 1>_B<block>",
    "wrong-dtype": "cube_i blocks reach the script as int64 instead of int32",
    "server-ids-reversed": "with dedicated servers, server s is numbered (servers - 1 - s)",
    "pdi-first-dataset-only": "reading the PDI plugin's form, only the first '- dataset:' "
    "entry of the list is declared (with --config-format pdi)",
}
#: mutations of how a port reads its config file rather than of how it runs
CONFIG_MUTATIONS = frozenset({"pdi-first-dataset-only"})


def mutation_seams(name: str) -> Seams:
    """The seams that plug the named bug into the in-process reference."""
    if name not in MUTATIONS:
        raise ValueError(f"unknown mutation {name!r}; known: {', '.join(MUTATIONS)}")
    if name in CONFIG_MUTATIONS:
        return DEFAULT_SEAMS
    if name == "round-robin-routing":
        return Seams(topology=_round_robin)
    if name == "server-ids-reversed":
        return Seams(topology=_reversed_server_ids)
    filters: dict[str, BlockFilter] = {
        "drop-block": _drop_last_on_server_0,
        "offsets-off-by-one": _shift_offsets,
        "p-numbering-from-one": _renumber_sources,
        "wrong-dtype": _widen_cube_i,
    }
    return Seams(block_filter=filters[name])


def _round_robin(node_of_rank: Sequence[int], cores: int, nodes: int) -> Topology:
    topology = compute_topology(node_of_rank, cores, nodes)
    servers = topology.server_count
    owner = tuple(c % servers for c in range(topology.client_count))
    return dataclasses.replace(topology, server_of_client=owner)


def _reversed_server_ids(node_of_rank: Sequence[int], cores: int, nodes: int) -> Topology:
    """The same servers own the same clients, but label their data with reversed ids."""
    topology = compute_topology(node_of_rank, cores, nodes)
    if topology.mode is Mode.STANDALONE:  # every client is its own server: ids are client ids
        return topology
    last = topology.server_count - 1
    return dataclasses.replace(
        topology,
        server_ranks=topology.server_ranks[::-1],
        server_of_client=tuple(last - s for s in topology.server_of_client),
    )


def _in_order(blocks: list[Block]) -> list[Block]:
    return sorted(blocks, key=lambda b: (b.source, b.block))


def _drop_last_on_server_0(server_id: int, iteration: int, _name: str, blocks: list[Block]):
    ordered = _in_order(blocks)
    return ordered[:-1] if server_id == 0 and iteration == 0 else ordered


def _shift_offsets(_server: int, _iteration: int, _name: str, blocks: list[Block]):
    return [dataclasses.replace(b, offsets=(*b.offsets[:-1], b.offsets[-1] + 1)) for b in blocks]


def _renumber_sources(_server: int, _iteration: int, _name: str, blocks: list[Block]):
    return [dataclasses.replace(b, source=b.source + 1) for b in blocks]


def _widen_cube_i(_server: int, _iteration: int, name: str, blocks: list[Block]):
    if name != "cube_i":
        return blocks
    return [dataclasses.replace(b, data=b.data.astype(np.int64)) for b in blocks]


def misread_config(name: str, config: Path) -> Path:
    """The config a port with the named misreading acts on: for a config mutation, a copy of
    ``config`` beside it holding only what that port reads; ``config`` itself otherwise."""
    if name not in CONFIG_MUTATIONS:
        return config
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    section = document["pdi"]["plugins"]["damaris"]
    section["datasets"] = section.get("datasets", [])[:1]
    misread = config.with_name(f"misread-{config.name}")
    misread.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return misread
