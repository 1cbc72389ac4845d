"""Deliberately broken variants of the in-process reference: the suite's self-test.

``--impl reference --mutation NAME`` runs the suite against the reference with one classic
port bug patched in. Each must make the suite fail with a message naming what differs; the
meta-tests in ``tests/conformance`` hold the suite to that. Patches touch only the engine's
use of the model (``damaris_ref.api``, ``damaris_ref.server``), never the model the suite's
expectations come from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from unittest import mock

import numpy as np

from damaris_ref import api, server
from damaris_ref.data import Block

#: name -> what the broken variant does
MUTATIONS: dict[str, str] = {
    "round-robin-routing": "client c is routed to server c % servers, not to its group",
    "drop-block": "server 0 loses the last block of every variable at iteration 0",
    "offsets-off-by-one": "every block's last offset is one too large",
    "p-numbering-from-one": "blocks are named P<source + 1>_B<block>",
    "wrong-dtype": "cube_i blocks reach the script as int64 instead of int32",
    "server-ids-reversed": "server s labels its data as server (servers - 1 - s)",
}

#: (server id, iteration, variable, blocks) -> the blocks the script gets instead
BlockEdit = Callable[[int, int, str, list[Block]], list[Block]]


@contextmanager
def mutation(name: str) -> Iterator[None]:
    """Patch the in-process reference with the named bug for the duration."""
    patches = {
        "round-robin-routing": _round_robin,
        "drop-block": lambda: _edit_blocks(_drop_last_on_server_0),
        "offsets-off-by-one": lambda: _edit_blocks(_shift_offsets),
        "p-numbering-from-one": lambda: _edit_blocks(_renumber_sources),
        "wrong-dtype": lambda: _edit_blocks(_widen_cube_i),
        "server-ids-reversed": _reverse_server_ids,
    }
    if name not in patches:
        raise ValueError(f"unknown mutation {name!r}; known: {', '.join(MUTATIONS)}")
    with patches[name]():
        yield


def _round_robin() -> AbstractContextManager[object]:
    compute = api.compute_topology

    def round_robin(*args, **kwargs):
        topo = compute(*args, **kwargs)
        servers = topo.server_count
        owner = tuple(c % servers for c in range(topo.client_count))
        return dataclasses.replace(topo, server_of_client=owner)

    return mock.patch.object(api, "compute_topology", round_robin)


def _edit_blocks(edit: BlockEdit) -> AbstractContextManager[object]:
    run_script = server.Server._run_script

    def edited(self, runner, iteration, by_variable):
        changed = {
            name: edit(self.server_id, iteration, name, sorted(blocks, key=_order))
            for name, blocks in by_variable.items()
        }
        return run_script(self, runner, iteration, changed)

    return mock.patch.object(server.Server, "_run_script", edited)


def _order(block: Block) -> tuple[int, int]:
    return block.source, block.block


def _drop_last_on_server_0(server_id: int, iteration: int, _name: str, blocks: list[Block]):
    return blocks[:-1] if server_id == 0 and iteration == 0 else blocks


def _shift_offsets(_server: int, _iteration: int, _name: str, blocks: list[Block]):
    return [dataclasses.replace(b, offsets=(*b.offsets[:-1], b.offsets[-1] + 1)) for b in blocks]


def _renumber_sources(_server: int, _iteration: int, _name: str, blocks: list[Block]):
    return [dataclasses.replace(b, source=b.source + 1) for b in blocks]


def _widen_cube_i(_server: int, _iteration: int, name: str, blocks: list[Block]):
    if name != "cube_i":
        return blocks
    return [dataclasses.replace(b, data=b.data.astype(np.int64)) for b in blocks]


def _reverse_server_ids() -> AbstractContextManager[object]:
    init = server.Server.__init__

    def reversed_init(self, config, topology, server_id, *args, **kwargs):
        init(self, config, topology, server_id, *args, **kwargs)
        self.server_id = topology.server_count - 1 - server_id

    return mock.patch.object(server.Server, "__init__", reversed_init)
