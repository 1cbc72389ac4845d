"""``heat2d_pdi``: a 2D heat-diffusion simulation written for PDI that never names Damaris.

Its PDI file (``examples/heat2d_pdi.yml``) does the Damaris side: the ``write:`` section
writes the field whenever the program exposes it (``when`` picks the steps, ``position``
places each client's rows), and the layout's ``depends_on`` sizes the blocks from the
metadata the program exposes. The program only exposes ``is_client``, its communicator,
metadata, and the field once per step. The global interior (``datasize`` of the file) is
split by rows between the clients; the left edge is held at 1e6, the rest starts at 0, and a
step replaces every interior cell by a weighted mean of itself and its four neighbours.
Client 0 prints the interior's sum on every written step, for the script to compare with.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np
import yaml

from damaris_ref import pdi
from damaris_ref.mocks.base import SimulationSetupError
from damaris_ref.mocks.pdi_program import PdiProgram, spec_path

#: the temperature the left edge is held at
HOT_EDGE = 1.0e6


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heat2d_pdi", description="A 2D heat diffusion written for PDI (write: section)."
    )
    parser.add_argument("config", help="its PDI file, with datasize and output_every")
    parser.add_argument("-i", dest="iterations", type=int, default=10, help="steps (default 10)")
    return parser


def _settings(path: Any) -> tuple[int, int, int]:
    """``datasize`` (global interior rows, columns) and ``output_every`` of the PDI file."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        rows, columns = (int(n) for n in document["datasize"])
        every = int(document["output_every"])
    except (KeyError, TypeError, ValueError) as error:
        raise SimulationSetupError(
            f"{path}: heat2d_pdi needs datasize: [rows, columns] and output_every: N ({error})"
        ) from None
    return rows, columns, every


def _step(field: np.ndarray) -> np.ndarray:
    """One diffusion step of the interior; the ghost rows and edge columns are kept."""
    new = field.copy()
    new[1:-1, 1:-1] = 0.5 * field[1:-1, 1:-1] + 0.125 * (
        field[:-2, 1:-1] + field[2:, 1:-1] + field[1:-1, :-2] + field[1:-1, 2:]
    )
    return new


def _exchange(comm: Any, field: np.ndarray) -> None:
    """Fill the ghost rows from the neighbouring clients (the outer ones stay as they are)."""
    rank = comm.Get_rank()
    edges = comm.allgather((field[1].copy(), field[-2].copy()))  # (first, last) interior rows
    if rank > 0:
        field[0] = edges[rank - 1][1]
    if rank + 1 < len(edges):
        field[-1] = edges[rank + 1][0]


def _program(_world: Any, args: argparse.Namespace) -> None:
    path = spec_path(args)
    rows, columns, every = _settings(path)
    pdi.init(path)
    is_client = np.zeros(1, dtype=np.int32)
    pdi.expose("is_client", is_client, pdi.INOUT)  # servers come back once the clients stopped
    holder = np.empty(1, dtype=object)
    pdi.expose("main_comm", holder, pdi.INOUT)
    if is_client[0]:
        comm = holder[0]
        rank, size = comm.Get_rank(), comm.Get_size()
        if rows % size:
            raise SimulationSetupError(f"datasize rows {rows} do not split between {size} clients")
        pdi.expose("every", np.int32(every), pdi.OUT)
        pdi.expose("dsize", np.array([rows // size + 2, columns + 2], dtype=np.int32), pdi.OUT)
        pdi.expose("psize", np.array([size, 1], dtype=np.int32), pdi.OUT)
        pdi.expose("pcoord", np.array([rank, 0], dtype=np.int32), pdi.OUT)
        field = np.zeros((rows // size + 2, columns + 2))
        field[:, 0] = HOT_EDGE
        for step in range(args.iterations):
            pdi.expose("iter", np.int32(step), pdi.OUT)
            interior = field[1:-1, 1:-1]
            if step % every == 0:
                gathered = comm.gather(interior.copy(), root=0)
                if gathered is not None:
                    total = math.fsum(np.concatenate(gathered).ravel().tolist())
                    print(f"C++    step {step} , Sum () = {total:.6f}", flush=True)
            pdi.expose("main_field", interior, pdi.OUT)  # written when the step is a multiple
            field = _step(field)
            _exchange(comm, field)
    pdi.finalize()  # a client stops first, as the plugin does at PDI's finalize
    sys.stdout.flush()


HEAT2D_PDI = PdiProgram("heat2d_pdi", _parser, _program)


def main_heat2d_pdi() -> int:
    """Console script ``heat2d_pdi PDI_YAML [-i I]`` (one MPI rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(HEAT2D_PDI, sys.argv[1:])
