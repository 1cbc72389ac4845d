"""Under MPI: the global array equals what the clients wrote, every iteration, and each block
stays on the worker of the server that received it (spec §4–§5).

A fixed sample of layouts (each ``mpiexec`` run costs seconds): dedicated cores 1 and 2,
emulated nodes, a dedicated node, standalone; 1–3 domains; every dtype family. The generic
mock's values are a known function of iteration and global index, so the expected array is
computed here without running anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from dask_support import (
    SCRIPTS,
    assert_no_workers_left,
    dask_config,
    run_generic,
    unique_name,
    write_config,
)

from damaris_ref.core.config.model import Architecture, Layout, Variable
from damaris_ref.core.data import dtype_of
from damaris_ref.mocks.generic import expected_global, global_shape

ITERATIONS = 3


@dataclass(frozen=True)
class Case:
    """A run: world size, architecture, how many clients and servers it must give, variables."""

    ranks: int
    architecture: Architecture
    clients: int
    servers: int
    variables: tuple[tuple[str, tuple[int, ...]], ...]  # (type, block shape)


CASES = {
    "one-core-int-2d": Case(3, Architecture(dedicated_cores=1), 2, 1, (("int", (4, 6)),)),
    "two-cores-double-float-3d": Case(
        6,
        Architecture(domains=2, dedicated_cores=2),
        4,
        2,
        (("double", (2, 3, 4)), ("float", (2, 3, 4))),
    ),
    "two-emulated-nodes-3-domains": Case(
        6,
        Architecture(domains=3, dedicated_cores=1, ranks_per_node=3),
        4,
        2,
        (("int", (3, 5)), ("long", (3, 2))),
    ),
    "three-emulated-nodes-1d": Case(
        6, Architecture(dedicated_cores=1, ranks_per_node=2), 3, 3, (("double", (7,)),)
    ),
    "dedicated-node": Case(
        6,
        Architecture(domains=2, dedicated_nodes=1, ranks_per_node=2),
        4,
        2,
        (("double", (2, 2, 3)), ("short", (5,))),
    ),
    "standalone": Case(3, Architecture(domains=2), 3, 3, (("float", (4, 4)), ("char", (6,)))),
}


#: 8 domains on each of 4 clients, two clients per server: each server holds 16 blocks of each
#: variable, and they tile a box of the global array (a band of rows, or a stretch in 1-D)
TILED = Case(
    6,
    Architecture(domains=8, dedicated_cores=1, ranks_per_node=3),
    4,
    2,
    (("int", (2, 3)), ("double", (5,))),
)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_global_array_is_what_clients_wrote_and_blocks_stay_on_their_server(
    case: Case, scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    _run_and_check(case, scheduler_file, dask_client, tmp_path)


@pytest.mark.timeout(90)
def test_blocks_that_tile_a_box_on_each_server_give_one_chunk_per_server(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    out = _run_and_check(TILED, scheduler_file, dask_client, tmp_path)
    for iteration in range(ITERATIONS):
        chunks = json.loads((out / f"chunks_I{iteration}.json").read_text())
        for index in range(len(TILED.variables)):
            summary = json.loads((out / f"v{index}_I{iteration}.json").read_text())
            assert summary["tasks"] == TILED.servers, summary
            # one chunk per server, each on its own server's worker (checked below)
            holders = {tuple(holders) for _box, holders in chunks[f"v{index}"]}
            assert len(holders) == TILED.servers, holders


def _run_and_check(case: Case, scheduler_file: Path, dask_client, tmp_path: Path) -> Path:
    """Run ``case`` with ``dask_dump_global.py``; check the arrays and where their blocks and
    chunks lie; return the folder with what the script recorded."""
    name = unique_name("prop")
    layouts = tuple(
        Layout(f"l{i}", type_name, tuple(map(str, shape)))
        for i, (type_name, shape) in enumerate(case.variables)
    )
    variables = tuple(Variable(f"v{i}", f"l{i}", script="probe") for i in range(len(layouts)))
    config = dask_config(
        name, SCRIPTS / "dask_dump_global.py", scheduler_file, layouts, variables, case.architecture
    )
    out = tmp_path / "out"
    done = run_generic(case.ranks, write_config(config, tmp_path), ITERATIONS, out)
    assert done.returncode == 0, done.stderr
    assert "raised:" not in done.stderr, done.stderr

    domains = case.architecture.domains
    for index, (type_name, shape) in enumerate(case.variables):
        dtype = dtype_of(type_name)
        whole = global_shape(shape, case.clients, domains)
        for iteration in range(ITERATIONS):
            expected = expected_global(dtype, whole, iteration)
            got = np.load(out / f"v{index}_I{iteration}.npy")
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, expected, f"v{index} iteration {iteration}")
            summary = json.loads((out / f"v{index}_I{iteration}.json").read_text())
            total = expected.sum(dtype=np.float64 if dtype.kind == "f" else np.int64)
            if dtype.kind == "f":
                assert summary["sum"] == pytest.approx(total, rel=1e-6)
            else:
                assert summary["sum"] == total

    _assert_blocks_on_their_server(out, name, case)
    assert_no_workers_left(dask_client, name)
    return out


def _assert_blocks_on_their_server(out: Path, simulation: str, case: Case) -> None:
    """Each chunk of the global array, once persisted, holds blocks of one server only, and
    lies on exactly that server's worker; every block was received once."""
    blocks_seen = 0
    for iteration in range(ITERATIONS):
        workers, received = {}, {}
        for server in range(case.servers):
            record = json.loads((out / f"placement_S{server}_I{iteration}.json").read_text())
            workers[server] = f"{simulation}_{record.pop('magic')}_{server}"
            received[server] = record
            blocks_seen += sum(len(boxes) for boxes in record.values())
        chunks = json.loads((out / f"chunks_I{iteration}.json").read_text())
        for variable, placed in chunks.items():
            for box, holders in placed:
                owners = [
                    server
                    for server, record in received.items()
                    if any(_overlap(box, block) for block in record.get(variable, []))
                ]
                assert len(owners) == 1, (
                    f"iteration {iteration}: chunk {box} of {variable} holds blocks of "
                    f"servers {owners}"
                )
                assert holders == [workers[owners[0]]], (
                    f"iteration {iteration}: chunk {box} of {variable} holds blocks of server "
                    f"{owners[0]} but lies on {holders}"
                )
    per_iteration = case.clients * case.architecture.domains * len(case.variables)
    assert blocks_seen == ITERATIONS * per_iteration


def _overlap(box: list, other: list) -> bool:
    """Whether two boxes ``[offsets, shape]`` share an element."""
    return all(
        a < b + m and b < a + n
        for a, n, b, m in zip(box[0], box[1], other[0], other[1], strict=True)
    )
