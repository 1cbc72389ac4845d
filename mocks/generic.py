"""A generic mock simulation driven only by the config: every variable, any dims and dtype.

Its data is a known function of (iteration, global index), and its decomposition a known
function of (source, block), so tests and the conformance suite can compute every expected
block, sum and reassembled array without running anything:

- client ``c`` writes block ``b`` of a variable with local shape ``L`` at offsets
  ``(c*L[0], 0, ..., b*L[-1])`` (1-D: ``((c*domains + b)*L[0],)``);
- the value of global cell ``x`` at iteration ``i`` is ``(i*7919 + linear_index(x)) % M``
  with ``M`` small enough that every dtype holds it exactly.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import numpy as np

from damaris_ref.core.arg_types import INT32_MAX, integer_in, sleep_seconds
from damaris_ref.mocks.base import Simulation

#: by item size: keeps values exact in every supported dtype (float32 has 24 mantissa bits)
_MODULUS = {1: 127, 2: 32_749}
_DEFAULT_MODULUS = 1_048_573
_ITERATION_STEP = 7919


def block_offsets(
    local_shape: tuple[int, ...], source: int, block: int, domains: int
) -> tuple[int, ...]:
    """Where block ``block`` of client ``source`` sits in the global array."""
    if len(local_shape) == 1:
        return ((source * domains + block) * local_shape[0],)
    middle = (0,) * (len(local_shape) - 2)
    return (source * local_shape[0], *middle, block * local_shape[-1])


def global_shape(local_shape: tuple[int, ...], clients: int, domains: int) -> tuple[int, ...]:
    """The shape of the array all clients' blocks tile together."""
    if len(local_shape) == 1:
        return (clients * domains * local_shape[0],)
    return (clients * local_shape[0], *local_shape[1:-1], domains * local_shape[-1])


def _modulus(dtype: np.dtype) -> int:
    return _MODULUS.get(np.dtype(dtype).itemsize, _DEFAULT_MODULUS)


def region_values(
    dtype: np.dtype,
    shape_global: tuple[int, ...],
    offsets: tuple[int, ...],
    shape: tuple[int, ...],
    iteration: int,
) -> np.ndarray:
    """Values of the box at ``offsets`` of ``shape`` inside the global array, at ``iteration``."""
    strides = [math.prod(shape_global[d + 1 :]) for d in range(len(shape_global))]
    linear = np.zeros(shape, dtype=np.int64)
    for d, (offset, n, stride) in enumerate(zip(offsets, shape, strides, strict=True)):
        axis = (np.arange(n, dtype=np.int64) + offset) * stride
        linear = linear + axis.reshape([-1 if k == d else 1 for k in range(len(shape))])
    values = (linear + iteration * _ITERATION_STEP) % _modulus(dtype)
    return values.astype(dtype)


def expected_global(dtype: np.dtype, shape_global: tuple[int, ...], iteration: int) -> np.ndarray:
    """The whole global array every client's blocks must reassemble into."""
    return region_values(dtype, shape_global, (0,) * len(shape_global), shape_global, iteration)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generic", description="Writes every variable of the config with known values."
    )
    parser.add_argument("config", help="Damaris configuration (YAML or XML)")
    parser.add_argument(
        "-i",
        dest="iterations",
        type=integer_in(0, INT32_MAX),
        default=3,
        help="iterations (default 3)",
    )
    parser.add_argument(
        "-s", dest="sleep", type=sleep_seconds, default=0.0, help="sleep per iteration"
    )
    parser.add_argument(
        "-b",
        dest="batch",
        action="store_true",
        help="write each variable's blocks with one write_blocks call (the same data)",
    )
    return parser


def _client_loop(damaris: Any, args: argparse.Namespace) -> None:
    from damaris_ref.core.data import dtype_of

    ccomm = damaris.client_comm_get()
    clients, source = ccomm.Get_size(), ccomm.Get_rank()
    config = damaris.config
    domains = config.architecture.domains
    declared = {p.name for p in config.parameters}
    for name, value in (("size", clients), ("blocks", domains)):
        if name in declared:
            damaris.parameter_set(name, value)
    for iteration in range(args.iterations):
        for variable in config.variables:
            local = damaris.variable_shape(variable.name)
            dtype = dtype_of(config.layout(variable.layout).type)
            whole = global_shape(local, clients, domains)
            blocks = {}
            for block in range(domains):
                offsets = block_offsets(local, source, block, domains)
                damaris.set_block_position(variable.name, block, offsets)
                blocks[block] = region_values(dtype, whole, offsets, local, iteration)
            if args.batch:
                damaris.write_blocks(variable.name, blocks)
            else:
                for block, values in blocks.items():
                    damaris.write_block(variable.name, block, values)
        damaris.end_iteration()
        if args.sleep > 0:
            time.sleep(args.sleep)


GENERIC = Simulation("generic", _parser, _client_loop)


def main() -> int:
    """Console script ``damaris-generic CONFIG [-i I] [-s S]`` (one MPI rank)."""
    from damaris_ref import run_mpi_rank

    return run_mpi_rank(GENERIC, sys.argv[1:])
