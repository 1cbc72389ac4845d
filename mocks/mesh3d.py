"""The seed simulations ``3dmesh_py`` and ``3dmesh_py_domains`` (SPEC §6).

Each client owns a slab ``(DEPTH/size, HEIGHT, WIDTH/domains)`` per domain; block ``b`` sits at
``(rank*DEPTH/size, 0, b*WIDTH/domains)``; at iteration ``i`` the value at local C-order
position ``k`` is ``i + rank_start + (0 if -r else k)``. Client 0 prints the all-client total.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from damaris_ref.mocks.base import Simulation, SimulationError

DEFAULT_ITERATIONS = 5


def total_line(iteration: int, total: int) -> str:
    """The client-side total line scripts and tools read (SPEC §6)."""
    return f"C++    iteration  {iteration} , Sum () = {total}"


def _parser(name: str, with_domains: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=name, description=f"The seed simulation {name}.")
    parser.add_argument("config", help="Damaris configuration (YAML or XML)")
    parser.add_argument(
        "-i",
        dest="iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"iterations (default {DEFAULT_ITERATIONS})",
    )
    if with_domains:
        parser.add_argument("-d", dest="domains", type=int, default=1, help="domains per client")
    else:
        parser.add_argument(
            "-v",
            dest="verbose",
            type=int,
            default=0,
            choices=(0, 1, 2),
            help="0: no data, 1: each client's array, 2: the all-client total",
        )
    parser.add_argument(
        "-r",
        dest="rank_only",
        action="store_true",
        help="value = iteration + rank_start (no running sequence)",
    )
    parser.add_argument(
        "-s",
        dest="sleep",
        type=float,
        default=1.0,
        help="seconds to sleep per iteration (default 1; 0 allowed)",
    )
    return parser


def block_values(
    iteration: int, rank_start: int, shape: tuple[int, ...], rank_only: bool
) -> np.ndarray:
    """The int32 block of SPEC §6 (the running sequence restarts for each block)."""
    if rank_only:
        return np.full(shape, iteration + rank_start, dtype=np.int32)
    count = int(np.prod(shape))
    return (
        (iteration + rank_start + np.arange(count, dtype=np.int64)).astype(np.int32).reshape(shape)
    )


def _client_loop(damaris: Any, args: argparse.Namespace) -> None:
    ccomm = damaris.client_comm_get()
    size, rank = ccomm.Get_size(), ccomm.Get_rank()
    domains = getattr(args, "domains", 1)
    width, height, depth = (int(damaris.parameter_get(p)) for p in ("WIDTH", "HEIGHT", "DEPTH"))
    if size > depth:
        raise SimulationError(f"{size} clients but DEPTH is {depth}: need size <= DEPTH")
    if domains <= 0 or width % domains:
        raise SimulationError(f"WIDTH {width} is not divisible by the domain count {domains}")
    damaris.parameter_set("size", size)
    damaris.parameter_set("blocks", domains)
    shape = (depth // size, height, width // domains)
    rank_start = rank * (width // domains) * height
    verbose = getattr(args, "verbose", 2)
    for iteration in range(args.iterations):
        local_total = 0
        arrays = []
        for block in range(domains):
            cube_i = block_values(iteration, rank_start, shape, args.rank_only)
            offsets = (rank * depth // size, 0, block * width // domains)
            damaris.set_block_position("cube_i", block, offsets)
            damaris.set_block_position("cube_f", block, offsets)
            damaris.write_block("cube_i", block, cube_i)
            damaris.write_block("cube_f", block, cube_i.astype(np.float32) + np.float32(0.5))
            local_total += int(cube_i.sum(dtype=np.int64))
            arrays.append(cube_i)
        total = ccomm.allreduce(local_total)
        gathered = ccomm.gather(arrays, root=0) if verbose == 1 else None
        damaris.write("last_iter", np.array([args.iterations], dtype=np.int32))
        if rank == 0:
            damaris.write("array_sum", np.array([total], dtype=np.float64))
            if verbose == 2:
                print(total_line(iteration, total), flush=True)
            elif verbose == 1:
                for source, blocks in enumerate(gathered):
                    for block, array in enumerate(blocks):
                        header = f"C++    iteration  {iteration} , client {source} block {block}:"
                        print(f"{header}\n{array}", flush=True)
        damaris.end_iteration()
        if args.sleep > 0:
            time.sleep(args.sleep)
    sys.stdout.flush()


MESH3D_PY = Simulation("3dmesh_py", lambda: _parser("3dmesh_py", False), _client_loop)
MESH3D_PY_DOMAINS = Simulation(
    "3dmesh_py_domains", lambda: _parser("3dmesh_py_domains", True), _client_loop
)


def main_3dmesh_py() -> int:
    """Console script ``3dmesh_py CONFIG [-v X] [-r] [-s S] [-i I]`` (one MPI rank)."""
    from damaris_ref.mpi_runtime import run_simulation

    return run_simulation(MESH3D_PY, sys.argv[1:])


def main_3dmesh_py_domains() -> int:
    """Console script ``3dmesh_py_domains CONFIG [-i I] [-d D] [-r] [-s S]`` (one MPI rank)."""
    from damaris_ref.mpi_runtime import run_simulation

    return run_simulation(MESH3D_PY_DOMAINS, sys.argv[1:])
