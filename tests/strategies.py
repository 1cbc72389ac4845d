"""Hypothesis strategies for core layouts and configurations, shared by the property tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from damaris_ref.conformance import cases
from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.data import TYPE_NAMES

EMPTY_SCRIPT = Path(__file__).parent / "scripts" / "noop.py"


@dataclass(frozen=True)
class CoreLayout:
    """A world split into emulated nodes plus a dedicated core/node choice."""

    nodes: int
    ranks_per_node: int
    dedicated_cores: int
    dedicated_nodes: int

    @property
    def world_size(self) -> int:
        return self.nodes * self.ranks_per_node


@st.composite
def core_layouts(draw, valid_only: bool = False) -> CoreLayout:
    """1-4 nodes of 2-8 ranks, standalone or any dedicated core/node count (valid or not)."""
    nodes = draw(st.integers(1, 4))
    rpn = draw(st.integers(2, 8))
    mode = draw(st.sampled_from(["standalone", "core", "node"]))
    cores = draw(st.integers(1, rpn)) if mode == "core" else 0
    dnodes = draw(st.integers(1, nodes)) if mode == "node" else 0
    layout = CoreLayout(nodes, rpn, cores, dnodes)
    if valid_only:
        from hypothesis import assume

        assume(is_valid(layout))
    return layout


def is_valid(layout: CoreLayout) -> bool:
    """The spec §1 validity rules, restated independently of the implementation."""
    if layout.dedicated_nodes:
        rest = layout.nodes - layout.dedicated_nodes
        return rest > 0 and rest % layout.dedicated_nodes == 0
    if layout.dedicated_cores:
        clients = layout.ranks_per_node - layout.dedicated_cores
        return clients > 0 and clients % layout.dedicated_cores == 0
    return True


@st.composite
def configs(draw, layout: CoreLayout, script: Path = EMPTY_SCRIPT) -> Config:
    """A config with 1-2 variables of 1-3 dims, any dtype, 1-4 domains, frequency 1-3."""
    domains = draw(st.integers(1, 4))
    layouts, variables = [], []
    for index in range(draw(st.integers(1, 2))):
        dims = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
        layouts.append(
            Layout(f"l{index}", draw(st.sampled_from(TYPE_NAMES)), tuple(map(str, dims)))
        )
        variables.append(
            Variable(f"v{index}", f"l{index}", time_varying=draw(st.booleans()), script="probe")
        )
    return Config(
        "prop",
        Architecture(
            domains=domains,
            dedicated_cores=layout.dedicated_cores,
            dedicated_nodes=layout.dedicated_nodes,
            ranks_per_node=layout.ranks_per_node,
        ),
        layouts=tuple(layouts),
        variables=tuple(variables),
        pyscripts=(PyScript("probe", script, frequency=draw(st.integers(1, 3))),),
    )


def seed_config(
    architecture: Architecture,
    shape: tuple[int, int, int] = (4, 8, 16),
    script: Path = EMPTY_SCRIPT,
) -> Config:
    """The seed's config of the conformance cases (its layouts and all four variables) for a
    (DEPTH, HEIGHT, WIDTH) cube and any architecture; its one pyscript is called MyPyAction,
    as in examples/3dmesh_py_compact.yml."""
    return cases.seed_config(architecture, shape, PyScript("MyPyAction", script))


@st.composite
def grid_tilings(
    draw, at_origin: bool = False
) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...], list[tuple]]:
    """(origin, chunks per axis, blocks) of a random 1-3-D grid of blocks ``(id, offsets,
    shape)`` in random order; the grid starts at 0 on every axis if ``at_origin``."""
    ndim = draw(st.integers(1, 3))
    origin = tuple(0 if at_origin else draw(st.integers(0, 20)) for _ in range(ndim))
    chunks = tuple(
        tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))) for _ in range(ndim)
    )
    blocks = [
        (
            f"b{index}",
            cell_offsets(origin, chunks, index),
            [chunks[d][i] for d, i in enumerate(index)],
        )
        for index in itertools.product(*(range(len(c)) for c in chunks))
    ]
    return origin, chunks, draw(st.permutations(blocks))


def cell_offsets(origin, chunks, index) -> list[int]:
    """Where the cell at ``index`` of a grid of ``chunks`` starting at ``origin`` begins."""
    return [origin[d] + sum(chunks[d][:i]) for d, i in enumerate(index)]
