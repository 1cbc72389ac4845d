"""What a conforming port must show for a case, computed from the model alone.

Routing comes from :mod:`damaris_ref.core.topology`, values from the seed formula
(:func:`damaris_ref.mocks.mesh3d.block_values`), names and types from :mod:`damaris_ref.core.data`.
Nothing here runs the reference, so a bug in an engine cannot hide in its own expectations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from damaris_ref.conformance.cases import Case, seed_type
from damaris_ref.core.data import block_key, dtype_of, type_string_of
from damaris_ref.core.topology import Topology, compute_topology, emulated_nodes
from damaris_ref.mocks.mesh3d import block_values


@dataclass(frozen=True)
class ExpectedBlock:
    """One block as the script must see it."""

    variable: str
    source: int
    block: int
    offsets: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: str
    sum: int | float
    sha256: str

    @property
    def key(self) -> str:
        """``P<source>_B<block>``."""
        return block_key(self.source, self.block)


#: (iteration, server) -> variable -> block key -> block
BlockMap = Mapping[tuple[int, int], Mapping[str, Mapping[str, ExpectedBlock]]]


@dataclass(frozen=True)
class Expectation:
    """Everything a run of ``case`` must show."""

    case: Case
    topology: Topology
    script_iterations: tuple[int, ...]
    blocks: BlockMap
    client_totals: Mapping[int, int]
    global_shape: tuple[int, ...]

    @property
    def servers(self) -> tuple[int, ...]:
        """Server ids that run the script."""
        return tuple(range(self.topology.server_count))

    def type_string(self, variable: str) -> str:
        """The ``type_string`` of a seed variable."""
        return type_string_of(seed_type(variable))

    def time_varying(self, variable: str) -> bool:
        """Whether the case declares ``variable`` time-varying."""
        return next(v.time_varying for v in self.case.variables if v.name == variable)

    def damaris_env(self) -> dict[str, object]:
        """``damaris_env`` without the magic number (SPEC §1, §3)."""
        topo = self.topology
        return {
            "is_dedicated_node": topo.is_dedicated_node,
            "is_dedicated_core": topo.is_dedicated_core,
            "servers_per_node": topo.servers_per_node,
            "clients_per_node": topo.clients_per_node,
            "ranks_per_node": topo.cores_per_node,
            "cores_per_node": topo.cores_per_node,
            "number_of_nodes": topo.number_of_nodes,
            "simulation_name": self.case.simulation,
        }


def case_topology(case: Case) -> Topology:
    """The routing table of the case (a ``ConfigError`` for an impossible layout)."""
    return compute_topology(
        emulated_nodes(case.np, case.ranks_per_node), case.dedicated_cores, case.dedicated_nodes
    )


def expect(case: Case) -> Expectation:
    """Compute the expectation of a case that must run (not one with ``expect_error``)."""
    topo = case_topology(case)
    clients = topo.client_count
    if clients > case.depth or case.depth % clients or case.width % case.domains:
        raise ValueError(
            f"case {case.id}: DEPTH {case.depth} must be a multiple of the {clients} clients "
            f"and WIDTH {case.width} of the {case.domains} domains"
        )
    shape = (case.depth // clients, case.height, case.width // case.domains)
    script_iterations = tuple(i for i in range(case.iterations) if i % case.frequency == 0)
    blocks: dict[tuple[int, int], dict[str, dict[str, ExpectedBlock]]] = {}
    totals: dict[int, int] = {}
    for iteration in range(case.iterations):
        written = _written(case, iteration, clients, shape)
        cubes = [b for b in written if b.variable == "cube_i"]
        totals[iteration] = int(sum(b.sum for b in cubes))
        for source in range(clients):  # every client writes it; 0.0 off client 0 (spec §6)
            value = totals[iteration] if source == 0 else 0.0
            written.append(_block("array_sum", source, 0, (0,), np.array([value], "f8")))
        if iteration not in script_iterations:
            continue
        for server in range(topo.server_count):
            blocks[(iteration, server)] = {}
        for b in written:
            if _delivered(case, b.variable, iteration):
                server = topo.server_for(b.source)
                blocks[(iteration, server)].setdefault(b.variable, {})[b.key] = b
    return Expectation(
        case=case,
        topology=topo,
        script_iterations=script_iterations,
        blocks=blocks,
        client_totals=totals,
        global_shape=(case.depth, case.height, case.width),
    )


def _written(
    case: Case, iteration: int, clients: int, shape: tuple[int, ...]
) -> list[ExpectedBlock]:
    """Blocks every client writes at ``iteration`` (array_sum, which needs the total, is added
    by the caller)."""
    written = []
    for source in range(clients):
        rank_start = source * (case.width // case.domains) * case.height
        for block in range(case.domains):
            offsets = (source * shape[0], 0, block * shape[2])
            cube = block_values(iteration, rank_start, shape, case.rank_only)
            written.append(_block("cube_i", source, block, offsets, cube))
            if case.simulation == "3dmesh_py":  # 3dmesh_py_domains writes no cube_f
                written.append(_block("cube_f", source, block, offsets, cube.astype("f4") + 0.5))
        written.append(_block("last_iter", source, 0, (0,), np.array([case.iterations], "i4")))
    return written


def _delivered(case: Case, variable: str, iteration: int) -> bool:
    choice = next((v for v in case.variables if v.name == variable), None)
    if choice is None:  # written but not declared by this case
        return False
    return choice.routed and (choice.time_varying or iteration == 0)


def _block(
    variable: str, source: int, block: int, offsets: tuple[int, ...], data: np.ndarray
) -> ExpectedBlock:
    """Describe ``data`` the way the probe records a block."""
    dtype = dtype_of(seed_type(variable))
    if data.dtype != dtype:
        raise TypeError(f"seed variable {variable} is {dtype}, the model built {data.dtype}")
    wide = np.int64 if dtype.kind in "iu" else np.float64
    total = data.sum(dtype=wide).item()
    return ExpectedBlock(
        variable=variable,
        source=source,
        block=block,
        offsets=offsets,
        shape=data.shape,
        dtype=dtype.name,
        sum=total,
        sha256=hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest(),
    )
