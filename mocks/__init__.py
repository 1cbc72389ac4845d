"""Mock simulations that use only the public client API, the way a real code would.

``SIMULATIONS`` maps each name the CLI accepts to its :class:`Simulation`.
"""

from __future__ import annotations

from damaris_ref.mocks.base import Simulation, SimulationSetupError
from damaris_ref.mocks.generic import GENERIC
from damaris_ref.mocks.mesh3d import MESH3D_PY, MESH3D_PY_DOMAINS, STATS_3DMESH_DASK
from damaris_ref.mocks.pdi_heat import HEAT2D_PDI
from damaris_ref.mocks.pdi_mesh3d import MESH3D_PY_DOMAINS_PDI, MESH3D_PY_PDI

#: every mock simulation, by the name its console script and ``damaris-ref run`` use
SIMULATIONS: dict[str, Simulation] = {
    sim.name: sim
    for sim in (
        MESH3D_PY,
        MESH3D_PY_DOMAINS,
        STATS_3DMESH_DASK,
        GENERIC,
        MESH3D_PY_PDI,
        MESH3D_PY_DOMAINS_PDI,
        HEAT2D_PDI,
    )
}

__all__ = ["SIMULATIONS", "Simulation", "SimulationSetupError"]
