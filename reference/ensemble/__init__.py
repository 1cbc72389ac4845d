"""Ensembles of short simulations on Dask, ESPResSo-style.

Each simulation is a fresh process that reads its parameters from stdin and prints its result
on stdout. Importing this package loads only the simulation-side helpers (standard library,
no ``typing``, no Dask, no NumPy), because every simulation process pays for what is imported
here; every other public name is loaded on first use.
"""

from __future__ import annotations

import importlib

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

#: public names loaded on first use -> the module defining them
_LAZY = {
    "Codec": "damaris_ref.ensemble.codec_protocol",
    "EnsembleInputError": "damaris_ref.ensemble.input_error",
    "SimulationError": "damaris_ref.ensemble.errors",
    "SimulationFailed": "damaris_ref.ensemble.errors",
    "SimulationOutputError": "damaris_ref.ensemble.errors",
    "SimulationTimeout": "damaris_ref.ensemble.errors",
    "run_simulation": "damaris_ref.ensemble.runner",
    "set_default_timeout": "damaris_ref.ensemble.timeouts",
    "dask_espresso_task": "damaris_ref.ensemble.tasks",
    "open_client": "damaris_ref.ensemble.cluster",
    "run_ensemble": "damaris_ref.ensemble.sweep",
    "parameter_grid": "damaris_ref.ensemble.sweep",
    "EnsembleResult": "damaris_ref.ensemble.sweep",
    "TaskFailure": "damaris_ref.ensemble.sweep",
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


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
