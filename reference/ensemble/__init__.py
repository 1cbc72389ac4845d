"""Ensembles of short simulations on Dask, ESPResSo-style.

Each simulation is a fresh process that reads its parameters from stdin and prints its result
on stdout. Importing this package loads only the simulation-side helpers (standard library,
no ``typing``, no Dask, no NumPy), because every simulation process pays for what is imported
here; every other public name is loaded on first use.
"""

from __future__ import annotations

from damaris_ref.core.lazy import lazy_attributes
from damaris_ref.ensemble.codecs import (
    TransportDecodeError,
    codec_names,
    get_codec,
    set_default_codec,
)
from damaris_ref.ensemble.transport_data import (
    decode_transport_data,
    encode_transport_data,
    get_data_from_stdin,
)

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:  # what type checkers see of the names loaded on first use
    from damaris_ref.ensemble.cluster import open_client as open_client
    from damaris_ref.ensemble.codec_protocol import Codec as Codec
    from damaris_ref.ensemble.errors import SimulationError as SimulationError
    from damaris_ref.ensemble.errors import SimulationFailed as SimulationFailed
    from damaris_ref.ensemble.errors import SimulationOutputError as SimulationOutputError
    from damaris_ref.ensemble.errors import SimulationTimeout as SimulationTimeout
    from damaris_ref.ensemble.input_error import EnsembleInputError as EnsembleInputError
    from damaris_ref.ensemble.runner import run_simulation as run_simulation
    from damaris_ref.ensemble.sweep import EnsembleResult as EnsembleResult
    from damaris_ref.ensemble.sweep import TaskFailure as TaskFailure
    from damaris_ref.ensemble.sweep import parameter_grid as parameter_grid
    from damaris_ref.ensemble.sweep import run_ensemble as run_ensemble
    from damaris_ref.ensemble.tasks import dask_espresso_task as dask_espresso_task
    from damaris_ref.ensemble.timeouts import set_default_timeout as set_default_timeout

#: public names loaded on first use -> the module defining them
_LAZY = {
    "Codec": "damaris_ref.ensemble.codec_protocol",
    "SimulationError": "damaris_ref.ensemble.errors",
    "run_simulation": "damaris_ref.ensemble.runner",
    "set_default_timeout": "damaris_ref.ensemble.timeouts",
    "dask_espresso_task": "damaris_ref.ensemble.tasks",
    "open_client": "damaris_ref.ensemble.cluster",
    "run_ensemble": "damaris_ref.ensemble.sweep",
    "parameter_grid": "damaris_ref.ensemble.sweep",
    "EnsembleResult": "damaris_ref.ensemble.sweep",
    "TaskFailure": "damaris_ref.ensemble.sweep",
    # earlier names of errors: deprecated aliases, kept for one release (docs/api.rst)
    "EnsembleInputError": "damaris_ref.ensemble.input_error",
    "SimulationFailed": "damaris_ref.ensemble.errors",
    "SimulationOutputError": "damaris_ref.ensemble.errors",
    "SimulationTimeout": "damaris_ref.ensemble.errors",
}

__all__ = [
    "TransportDecodeError",
    "codec_names",
    "decode_transport_data",
    "encode_transport_data",
    "get_codec",
    "get_data_from_stdin",
    "set_default_codec",
    *_LAZY,
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
