"""The seed's C programs written for PDI (``3dmesh_py.c``, ``3dmesh_py_domains.c``), in Python.

They talk to Damaris only through PDI events and data (:mod:`damaris_ref.pdi`), as the C
programs do through ``PDI_event`` and ``PDI_multi_expose``: ``initialize``, then
``damaris_start`` with ``is_client`` (servers come back from it once every client stopped),
the client communicator, parameters, positions and writes as multi-exposes, and the end of
each iteration. Their command lines, values and printed lines are those of the C programs;
the values come from the rules the other seed executables use
(:func:`damaris_ref.mocks.mesh3d.block_values`). Run them with the seed's own PDI files.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from damaris_ref import pdi
from damaris_ref.mocks.base import SimulationSetupError
from damaris_ref.mocks.mesh3d import MESH3D_PY, MESH3D_PY_DOMAINS, block_total, block_values
from damaris_ref.mocks.pdi_program import PdiProgram, spec_path


def _parameter_get(name: str) -> int:
    buffer = np.zeros(1, dtype=np.int32)
    pdi.multi_expose(
        "damaris_parameter_get",
        [("prm_name", name, pdi.OUT), ("prm_buffer", buffer, pdi.INOUT), ("prm_size", 4, pdi.OUT)],
    )
    return int(buffer[0])


def _parameter_set(name: str, value: int) -> None:
    buffer = np.array([value], dtype=np.int32)
    pdi.multi_expose(
        "damaris_parameter_set",
        [("prm_name", name, pdi.OUT), ("prm_buffer", buffer, pdi.INOUT), ("prm_size", 4, pdi.OUT)],
    )


def _write(variable: str, label: str, data: np.ndarray) -> None:
    pdi.multi_expose("damaris_write", [("w_var_name", variable, pdi.OUT), (label, data, pdi.OUT)])


def _start() -> bool:
    """``initialize``, then ``damaris_start`` with ``is_client``, as the C programs do."""
    pdi.event("initialize")
    is_client = np.array([-1], dtype=np.int32)
    pdi.multi_expose("damaris_start", [("is_client", is_client, pdi.INOUT)])
    return bool(is_client[0])


def _client_comm() -> Any:
    holder = np.empty(1, dtype=object)
    pdi.multi_expose("damaris_client_comm_get", [("client_comm", holder, pdi.INOUT)])
    return holder[0]


def _end() -> None:
    """After the client's loop: stop (clients), then finalize on every rank."""
    pdi.event("finalize")
    pdi.finalize()
    sys.stdout.flush()


def _check_sizes(size: int, depth: int, width: int, domains: int) -> None:
    if size > depth:
        raise SimulationSetupError(
            f"MPI process count (size={size}) is greater than the blocked index (DEPTH={depth})"
        )
    if width % domains:
        raise SimulationSetupError(
            f"WIDTH mod domains must divide perfectly {width} mod {domains} = {width % domains}"
        )


def _mesh_program(_world: Any, args: argparse.Namespace) -> None:
    """``3dmesh_py.c``: cube_i, cube_f and last_iter each iteration; ``-v 2`` adds array_sum."""
    pdi.init(spec_path(args))
    is_client = _start()
    print(f"{'-' * 85}D: :) ;) is_client = {int(is_client)}", flush=True)
    if is_client:
        comm = _client_comm()
        width, height, depth = (_parameter_get(p) for p in ("WIDTH", "HEIGHT", "DEPTH"))
        _parameter_get("whd_layout")  # read by the C program, not used
        rank, size = comm.Get_rank(), comm.Get_size()
        if args.verbose > 0:
            print(
                f"C++ Input paramaters found: v={args.verbose} r={int(args.rank_only)} "
                "(0 is not found)",
                flush=True,
            )
        _parameter_set("size", size)
        _check_sizes(size, depth, width, 1)
        shape = (depth // size, height, width)
        position = np.array([rank * shape[0], 0, 0], dtype=np.int64)
        rank_start = rank * width * height
        for variable in ("cube_i", "cube_f"):
            pdi.multi_expose(
                "damaris_set_position",
                [("pos_var_name", variable, pdi.OUT), ("position_cube", position, pdi.OUT)],
            )
        time.sleep(args.sleep)
        for iteration in range(args.iterations):
            started = time.perf_counter()
            cube = block_values(iteration, rank_start, shape, args.rank_only)
            if args.verbose == 1:
                _print_in_rank_order(comm, cube)
            elif args.verbose == 2:
                total = comm.reduce(block_total(cube), root=0)
                if rank == 0:
                    print(f"C++    iteration  {iteration} , Sum () = {total}", flush=True)
                _write("array_sum", "array_sum", np.array([float(total or 0)]))
            _write("cube_i", "cube", cube)
            _write("cube_f", "cube_f", cube.astype(np.float32) + np.float32(0.5))
            _write("last_iter", "MAX_CYCLES", np.array([args.iterations], dtype=np.int32))
            time.sleep(args.sleep)
            pdi.event("damaris_end_iteration")
            comm.Barrier()
            if rank == 0 and args.verbose > 0:
                seconds = time.perf_counter() - started
                print(f"C++    iteration {iteration} done in {seconds:f} seconds", flush=True)
        pdi.event("damaris_stop")
    _end()


def _print_in_rank_order(comm: Any, cube: np.ndarray) -> None:
    """``-v 1``: every client's cube, one client after the other, as ``%2d\\t`` rows."""
    for turn in range(comm.Get_size()):
        if comm.Get_rank() == turn:
            rows = ("".join(f"{v:2d}\t" for v in row) for plane in cube for row in plane)
            print("\n" + "\n".join(rows) + "\n", flush=True)
        comm.Barrier()


def _domains_program(_world: Any, args: argparse.Namespace) -> None:
    """``3dmesh_py_domains.c``: last_iter, ``-d`` blocks of cube_i, then array_sum."""
    pdi.init(spec_path(args))
    if _start():
        comm = _client_comm()
        width, height, depth = (_parameter_get(p) for p in ("WIDTH", "HEIGHT", "DEPTH"))
        rank, size = comm.Get_rank(), comm.Get_size()
        print(f"Input paramaters found: v=0 r={int(args.rank_only)} (0 is not found)", flush=True)
        _parameter_set("size", size)
        _parameter_set("blocks", args.domains)
        _check_sizes(size, depth, width, args.domains)
        shape = (depth // size, height, width // args.domains)
        rank_start = rank * shape[2] * height
        for iteration in range(args.iterations):
            started = time.perf_counter()
            _write("last_iter", "MAX_CYCLES", np.array([args.iterations], dtype=np.int32))
            array_sum = 0.0
            for block in range(args.domains):
                position = np.array([rank * shape[0], 0, block * shape[2]], dtype=np.int64)
                block_number = np.array(block, dtype=np.int32)
                pdi.multi_expose(
                    "damaris_set_block_position",
                    [
                        ("bpos_var_name", "cube_i", pdi.OUT),
                        ("block", block_number, pdi.OUT),
                        ("position_cube", position, pdi.OUT),
                    ],
                )
                cube = block_values(iteration, rank_start, shape, args.rank_only)
                array_sum += comm.reduce(block_total(cube), root=0) or 0
                pdi.multi_expose(
                    "damaris_write_block",
                    [
                        ("wb_var_name", "cube_i", pdi.OUT),
                        ("block", block_number, pdi.OUT),
                        ("cube", cube, pdi.OUT),
                    ],
                )
            time.sleep(args.sleep)
            comm.Barrier()
            if rank == 0:
                seconds = time.perf_counter() - started
                print(f"C++    iteration {iteration} done in {seconds:f} seconds", flush=True)
                print(f"C++    iteration {iteration}  Sum = {array_sum:f}", flush=True)
            _write("array_sum", "array_sum", np.array([array_sum]))
            pdi.event("damaris_end_iteration")
        pdi.event("damaris_stop")
    _end()


def _renamed(parser: Callable[[], argparse.ArgumentParser], name: str) -> Callable[[], Any]:
    """The C program's command line (the same as its Damaris twin's), under this name."""

    def build() -> argparse.ArgumentParser:
        built = parser()
        built.prog = name
        built.description = f"The seed's PDI program {name.removesuffix('_pdi')}.c, on PDI."
        return built

    return build


MESH3D_PY_PDI = PdiProgram(
    "3dmesh_py_pdi", _renamed(MESH3D_PY.parser, "3dmesh_py_pdi"), _mesh_program
)
MESH3D_PY_DOMAINS_PDI = PdiProgram(
    "3dmesh_py_domains_pdi",
    _renamed(MESH3D_PY_DOMAINS.parser, "3dmesh_py_domains_pdi"),
    _domains_program,
)


def main_3dmesh_py_pdi() -> int:
    """Console script ``3dmesh_py_pdi PDI_YAML [-v X] [-r] [-s S] [-i I]`` (one MPI rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(MESH3D_PY_PDI, sys.argv[1:])


def main_3dmesh_py_domains_pdi() -> int:
    """Console script ``3dmesh_py_domains_pdi PDI_YAML [-i I] [-d D] [-r] [-s S]`` (one rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(MESH3D_PY_DOMAINS_PDI, sys.argv[1:])
