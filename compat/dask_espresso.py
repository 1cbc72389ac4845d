"""Drop-in replacement for the ESPResSo sample's ``dask_espresso`` helper module.

Existing scripts keep working unchanged (``de.get_data_from_stdin()``,
``print(de.encode_transport_data(result))``, ``de.dask_espresso_task(pypresso, script,
**params)``). Importing it loads neither Dask nor NumPy, so a simulation process starts fast;
every other name of :mod:`damaris_ref.ensemble` (``dask_espresso_task``, ``run_simulation``,
the errors, ``set_default_codec``...) is forwarded on first use.
"""

from __future__ import annotations

import damaris_ref.ensemble as _ensemble
from damaris_ref.ensemble.transport_data import decode_transport_data as decode_transport_data
from damaris_ref.ensemble.transport_data import encode_transport_data as encode_transport_data
from damaris_ref.ensemble.transport_data import get_data_from_stdin as get_data_from_stdin

__all__ = list(_ensemble.__all__)


def __getattr__(name: str) -> object:
    if name in __all__:
        return getattr(_ensemble, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
