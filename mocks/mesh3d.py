"""The seed simulations 3dmesh_py and 3dmesh_py_domains, and stats_3dmesh_dask (spec §6).

Each client owns a slab ``(DEPTH/size, HEIGHT, WIDTH/domains)`` per domain; block ``b`` sits at
``(rank*(DEPTH/size), 0, b*WIDTH/domains)``; at iteration ``i`` the value at local C-order
position ``k`` is ``i + rank_start + (0 if -r else k)`` (``stats_3dmesh_dask``: the double
``rank_start + V``, every iteration). Client 0 prints the all-client total.
They set and write exactly what upstream's example executables do, so upstream's example
configurations and scripts run on them unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from damaris_ref import UnknownNameError
from damaris_ref.core.arg_types import INT32_MAX, integer_in, sleep_seconds
from damaris_ref.mocks.base import Simulation, SimulationSetupError, UndeclaredNames

DEFAULT_ITERATIONS = 5
#: int32 values run from INT32_MIN up to, not including, INT32_END; the block sequence wraps
#: beyond, as the C++ executables' int does
INT32_MIN, INT32_END = -(1 << 31), 1 << 31
#: integer blocks up to this many elements are summed in Python (:func:`block_total`)
SMALL_BLOCK = 64


def _total_line(iteration: int, total: int) -> str:
    """The client-side total line scripts and tools read (SPEC §6)."""
    return f"C++    iteration  {iteration} , Sum () = {total}"


#: what ``stats_3dmesh_dask`` adds to every element when ``-v`` is not given (upstream's default)
DEFAULT_STATS_VALUE = 5


def _parser(name: str, with_domains: bool, with_value: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=name, description=f"The seed simulation {name}.")
    parser.add_argument("config", help="Damaris configuration (YAML or XML)")
    parser.add_argument(
        "-i",
        dest="iterations",
        type=integer_in(0, INT32_MAX),
        default=DEFAULT_ITERATIONS,
        help=f"iterations (default {DEFAULT_ITERATIONS})",
    )
    if with_domains:
        parser.add_argument(
            "-d", dest="domains", type=integer_in(1), default=1, help="domains per client"
        )
    if with_value:
        parser.add_argument(
            "-v",
            dest="value",
            type=int,
            default=DEFAULT_STATS_VALUE,
            help=f"every element is rank_start + V (default {DEFAULT_STATS_VALUE})",
        )
    elif not with_domains:
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
        help="accepted; has no effect"
        if with_value
        else "value = iteration + rank_start (no running sequence)",
    )
    parser.add_argument(
        "-s",
        dest="sleep",
        type=sleep_seconds,
        default=1.0,
        help="seconds to sleep per iteration (default 1; 0 allowed)",
    )
    return parser


def block_values(
    iteration: int, rank_start: int, shape: tuple[int, ...], rank_only: bool
) -> np.ndarray:
    """The int32 block of SPEC §6 (the running sequence restarts for each block)."""
    start = iteration + rank_start
    if rank_only:
        return np.full(shape, (start - INT32_MIN) % (INT32_END - INT32_MIN) + INT32_MIN, np.int32)
    count = math.prod(shape)
    if INT32_MIN <= start <= INT32_END - count:  # no value wraps: made as int32
        return np.arange(start, start + count, dtype=np.int32).reshape(shape)
    return (start + np.arange(count, dtype=np.int64)).astype(np.int32).reshape(shape)


def block_total(cube: np.ndarray) -> int | float:
    """The exact sum of an integer block (a float block's in float64), as a Python number.

    Blocks of at most ``SMALL_BLOCK`` integers are summed in Python, which is exact too and
    costs a tenth of numpy's call: a run of many one-element domains would otherwise spend
    more time summing its blocks than writing them.
    """
    if cube.dtype.kind == "f":
        return cube.sum(dtype=np.float64).item()
    if cube.size <= SMALL_BLOCK:
        return sum(cube.ravel().tolist())
    return cube.sum(dtype=np.int64).item()


def _cube_dimensions(damaris: Any, size: int, domains: int) -> tuple[int, int, int]:
    """WIDTH, HEIGHT and DEPTH from the configuration, checked against the seed's rules."""
    width, height, depth = (int(damaris.parameter_get(p)) for p in ("WIDTH", "HEIGHT", "DEPTH"))
    if size > depth:
        raise SimulationSetupError(f"{size} clients but DEPTH is {depth}: need size <= DEPTH")
    if domains <= 0 or width % domains:
        raise SimulationSetupError(f"WIDTH {width} is not divisible by the domain count {domains}")
    return width, height, depth


def _print_arrays(ccomm: Any, iteration: int, arrays: list[np.ndarray]) -> None:
    """``-v 1``: client 0 prints every client's blocks in rank order."""
    gathered = ccomm.gather(arrays, root=0)
    if gathered is None:
        return
    for source, blocks in enumerate(gathered):
        for block, array in enumerate(blocks):
            header = f"C++    iteration  {iteration} , client {source} block {block}:"
            print(f"{header}\n{array}", flush=True)


def _mesh_loop(damaris: Any, args: argparse.Namespace) -> None:
    """``3dmesh_py``: one block per client; cube_i, cube_f and last_iter every iteration.

    As upstream's executable: only ``size`` is set (its config has no ``blocks``), and with
    ``-v 2`` every client also writes ``array_sum``, the reduced total on client 0 and 0.0 on
    the others (what a non-root rank holds after ``MPI_Reduce``).
    """
    ccomm = damaris.client_comm_get()
    size, rank = ccomm.Get_size(), ccomm.Get_rank()
    names = UndeclaredNames("3dmesh_py", report=rank == 0)
    width, height, depth = _cube_dimensions(damaris, size, 1)
    with contextlib.suppress(UnknownNameError):
        damaris.parameter_get("whd_layout")  # read by upstream's executable; value unused
    names.call(damaris.parameter_set, "size", size)
    shape = (depth // size, height, width)
    rank_start = rank * width * height
    offsets = (rank * shape[0], 0, 0)
    names.call(damaris.set_position, "cube_i", offsets)
    names.call(damaris.set_position, "cube_f", offsets)
    for iteration in range(args.iterations):
        cube_i = block_values(iteration, rank_start, shape, args.rank_only)
        if args.verbose == 2:
            total = ccomm.reduce(block_total(cube_i), root=0)
            if rank == 0:
                print(_total_line(iteration, total), flush=True)
            array_sum = float(total) if rank == 0 else 0.0
            names.call(damaris.write, "array_sum", np.array([array_sum], dtype=np.float64))
        elif args.verbose == 1:
            _print_arrays(ccomm, iteration, [cube_i])
        names.call(damaris.write, "cube_i", cube_i)
        names.call(damaris.write, "cube_f", cube_i.astype(np.float32) + np.float32(0.5))
        names.call(damaris.write, "last_iter", np.array([args.iterations], dtype=np.int32))
        _sleep_then_end(damaris, args.sleep)
    sys.stdout.flush()


def _domains_loop(damaris: Any, args: argparse.Namespace) -> None:
    """``3dmesh_py_domains``: ``-d`` blocks of cube_i per client, between last_iter and array_sum.

    As upstream's executable: ``size`` and ``blocks`` are set, no ``cube_f`` is written, and
    every client writes ``array_sum`` (the total on client 0, 0.0 elsewhere); client 0 always
    prints the total.
    """

    def values(iteration: int, rank_start: int, shape: tuple[int, ...]) -> np.ndarray:
        return block_values(iteration, rank_start, shape, args.rank_only)

    _write_domains(damaris, args, "3dmesh_py_domains", "cube_i", values)


def _stats_loop(damaris: Any, args: argparse.Namespace) -> None:
    """``stats_3dmesh_dask``: as ``3dmesh_py_domains``, but the blocks are of the double
    ``cube_d``, every element ``rank_start + V`` at every iteration (no sequence, no ``i``)."""

    def values(_iteration: int, rank_start: int, shape: tuple[int, ...]) -> np.ndarray:
        return np.full(shape, float(rank_start + args.value))

    _write_domains(damaris, args, "stats_3dmesh_dask", "cube_d", values)


def _write_domains(
    damaris: Any,
    args: argparse.Namespace,
    program: str,
    variable: str,
    values: Callable[[int, int, tuple[int, ...]], np.ndarray],
) -> None:
    """The domains executables' loop: per iteration last_iter, ``-d`` blocks of ``variable``
    from ``values(iteration, rank_start, shape)``, then array_sum; client 0 prints the total."""
    ccomm = damaris.client_comm_get()
    size, rank = ccomm.Get_size(), ccomm.Get_rank()
    names = UndeclaredNames(program, report=rank == 0)
    domains = args.domains
    width, height, depth = _cube_dimensions(damaris, size, domains)
    names.call(damaris.parameter_set, "size", size)
    names.call(damaris.parameter_set, "blocks", domains)
    shape = (depth // size, height, width // domains)
    rank_start = rank * shape[2] * height
    for iteration in range(args.iterations):
        names.call(damaris.write, "last_iter", np.array([args.iterations], dtype=np.int32))
        local_total: int | float = 0
        for block in range(domains):
            cube = values(iteration, rank_start, shape)
            offsets = (rank * shape[0], 0, block * shape[2])
            names.call(damaris.set_block_position, variable, block, offsets)
            names.call(damaris.write_block, variable, block, cube)
            local_total += block_total(cube)
        total = ccomm.reduce(local_total, root=0)
        if rank == 0:
            print(_total_line(iteration, total), flush=True)
        array_sum = float(total) if rank == 0 else 0.0
        names.call(damaris.write, "array_sum", np.array([array_sum], dtype=np.float64))
        _sleep_then_end(damaris, args.sleep)
    sys.stdout.flush()


def _sleep_then_end(damaris: Any, seconds: float) -> None:
    """Upstream's executables sleep before they end the iteration."""
    if seconds > 0:
        time.sleep(seconds)
    damaris.end_iteration()


MESH3D_PY = Simulation("3dmesh_py", lambda: _parser("3dmesh_py", False), _mesh_loop)
MESH3D_PY_DOMAINS = Simulation(
    "3dmesh_py_domains", lambda: _parser("3dmesh_py_domains", True), _domains_loop
)
STATS_3DMESH_DASK = Simulation(
    "stats_3dmesh_dask", lambda: _parser("stats_3dmesh_dask", True, with_value=True), _stats_loop
)


def main_3dmesh_py() -> int:
    """Console script ``3dmesh_py CONFIG [-v X] [-r] [-s S] [-i I]`` (one MPI rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(MESH3D_PY, sys.argv[1:])


def main_3dmesh_py_domains() -> int:
    """Console script ``3dmesh_py_domains CONFIG [-i I] [-d D] [-r] [-s S]`` (one MPI rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(MESH3D_PY_DOMAINS, sys.argv[1:])


def main_stats_3dmesh_dask() -> int:
    """Console script ``stats_3dmesh_dask CONFIG [-i I] [-v V] [-d D] [-r] [-s S]`` (one rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(STATS_3DMESH_DASK, sys.argv[1:])
