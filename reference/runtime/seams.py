"""The two places where a test may plug a substitute into the reference: routing and blocks.

The conformance suite's self-test breaks the in-process reference on purpose (its mutations,
:mod:`damaris_ref.conformance.mutations`) through these seams only; everything else a run does
is the reference's own code, unpatched.

- ``topology``: the rule that turns every world rank's node id and the ``dedicated`` counts
  into the routing table; called once per rank in ``initialize`` (default
  :func:`~damaris_ref.core.topology.compute_topology`). A substitute must give every rank the same
  table, or ranks disagree on who serves whom.
- ``block_filter``: called by each server once per completed iteration and variable, with the
  blocks in arrival order; the scripts (and the observer) get what it returns. The shared
  buffer is still released for the blocks that arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from damaris_ref.core.topology import Topology, compute_topology
from damaris_ref.runtime.server import BlockFilter

#: (node id of every world rank, dedicated cores, dedicated nodes) -> the routing table
TopologyRule = Callable[[Sequence[int], int, int], Topology]


@dataclass(frozen=True)
class Seams:
    """The substitutes one run uses; the defaults are the reference's own behaviour."""

    topology: TopologyRule = compute_topology
    block_filter: BlockFilter | None = None


#: the reference as it is
DEFAULT_SEAMS = Seams()
