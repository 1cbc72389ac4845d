"""damaris-reference: the executable reference of Damaris-style in-situ Python/Dask analytics.

The names listed in ``__all__`` are the public API, documented in docs/api.rst: the client API
a simulation calls, config loading, the routing model (topology), the block and reassembly
helpers behind ``DamarisData``, the Dask bridge's arrays and the ensemble runner. The
subpackages ``config``, ``dask_bridge``, ``ensemble``, ``stats`` and ``conformance`` declare
the rest of theirs in their own ``__all__``; modules and names not declared there are internal.

Every name is loaded on first use, so ``import damaris_ref`` costs next to nothing and loads
neither mpi4py nor Dask: simulation-side helpers (``dask_espresso``) import this package in
every short-lived task process, and the pure core is meant to be read and used without them.
"""

from damaris_ref.lazy import lazy_attributes

#: the package's version, as in pyproject.toml
__version__ = "0.1.0"

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:  # what type checkers see of the names loaded on first use
    from damaris_ref import damaris as damaris
    from damaris_ref.api import Damaris as Damaris
    from damaris_ref.api import DamarisStateError as DamarisStateError
    from damaris_ref.client import ClientError as ClientError
    from damaris_ref.client import UnknownParameterError as UnknownParameterError
    from damaris_ref.client import UnknownVariableError as UnknownVariableError
    from damaris_ref.config import Config as Config
    from damaris_ref.config import ConfigError as ConfigError
    from damaris_ref.config import dump_xml as dump_xml
    from damaris_ref.config import dump_yaml as dump_yaml
    from damaris_ref.config import load_config as load_config
    from damaris_ref.config import load_config_text as load_config_text
    from damaris_ref.dask_bridge import global_array as global_array
    from damaris_ref.dask_bridge import iteration_array as iteration_array
    from damaris_ref.dask_bridge import release_kept as release_kept
    from damaris_ref.data import Block as Block
    from damaris_ref.data import ReassemblyError as ReassemblyError
    from damaris_ref.data import block_key as block_key
    from damaris_ref.data import iteration_tag as iteration_tag
    from damaris_ref.data import parse_block_key as parse_block_key
    from damaris_ref.data import reassemble as reassemble
    from damaris_ref.data import reassemble_entry as reassemble_entry
    from damaris_ref.engine import RankFailed as RankFailed
    from damaris_ref.engine import run_in_process as run_in_process
    from damaris_ref.ensemble import EnsembleResult as EnsembleResult
    from damaris_ref.ensemble import parameter_grid as parameter_grid
    from damaris_ref.ensemble import run_ensemble as run_ensemble
    from damaris_ref.ensemble import run_simulation as run_simulation
    from damaris_ref.errors import DamarisClientError as DamarisClientError
    from damaris_ref.errors import DamarisConfigError as DamarisConfigError
    from damaris_ref.errors import DamarisConformanceError as DamarisConformanceError
    from damaris_ref.errors import DamarisDaskError as DamarisDaskError
    from damaris_ref.errors import DamarisEnsembleError as DamarisEnsembleError
    from damaris_ref.errors import DamarisError as DamarisError
    from damaris_ref.errors import DamarisLayoutError as DamarisLayoutError
    from damaris_ref.errors import DamarisRunError as DamarisRunError
    from damaris_ref.errors import DamarisScriptError as DamarisScriptError
    from damaris_ref.errors import DamarisTransportError as DamarisTransportError
    from damaris_ref.grid import BlockGrid as BlockGrid
    from damaris_ref.grid import GridError as GridError
    from damaris_ref.grid import block_grid as block_grid
    from damaris_ref.topology import LayoutError as LayoutError
    from damaris_ref.topology import Mode as Mode
    from damaris_ref.topology import Topology as Topology
    from damaris_ref.topology import compute_topology as compute_topology
    from damaris_ref.topology import world_size_for as world_size_for

#: public name -> the module that defines it (``damaris`` is itself a module)
_LAZY = {
    # the client API a simulation calls, and the in-process engine that runs it without MPI
    "damaris": "damaris_ref.damaris",
    "Damaris": "damaris_ref.api",
    "DamarisStateError": "damaris_ref.api",
    "ClientError": "damaris_ref.client",
    "UnknownVariableError": "damaris_ref.client",
    "UnknownParameterError": "damaris_ref.client",
    "run_in_process": "damaris_ref.engine",
    "RankFailed": "damaris_ref.engine",
    # configuration
    "Config": "damaris_ref.config",
    "ConfigError": "damaris_ref.config",
    "load_config": "damaris_ref.config",
    "load_config_text": "damaris_ref.config",
    "dump_yaml": "damaris_ref.config",
    "dump_xml": "damaris_ref.config",
    # routing: who is a client, who a server, which server owns which client (spec §1)
    "Topology": "damaris_ref.topology",
    "Mode": "damaris_ref.topology",
    "LayoutError": "damaris_ref.topology",
    "compute_topology": "damaris_ref.topology",
    "world_size_for": "damaris_ref.topology",
    # blocks, their keys and tags in DamarisData, and reassembly (spec §3)
    "Block": "damaris_ref.data",
    "block_key": "damaris_ref.data",
    "parse_block_key": "damaris_ref.data",
    "iteration_tag": "damaris_ref.data",
    "reassemble": "damaris_ref.data",
    "reassemble_entry": "damaris_ref.data",
    "ReassemblyError": "damaris_ref.data",
    "block_grid": "damaris_ref.grid",
    "BlockGrid": "damaris_ref.grid",
    "GridError": "damaris_ref.grid",
    # the Dask bridge, from a pyscript (spec §4-§5)
    "global_array": "damaris_ref.dask_bridge",
    "iteration_array": "damaris_ref.dask_bridge",
    "release_kept": "damaris_ref.dask_bridge",
    # the error root: a command prints these as one line; one class per area under it
    "DamarisError": "damaris_ref.errors",
    "DamarisConfigError": "damaris_ref.errors",
    "DamarisLayoutError": "damaris_ref.errors",
    "DamarisClientError": "damaris_ref.errors",
    "DamarisTransportError": "damaris_ref.errors",
    "DamarisScriptError": "damaris_ref.errors",
    "DamarisDaskError": "damaris_ref.errors",
    "DamarisEnsembleError": "damaris_ref.errors",
    "DamarisRunError": "damaris_ref.errors",
    "DamarisConformanceError": "damaris_ref.errors",
    # ensembles of short simulations on Dask
    "run_ensemble": "damaris_ref.ensemble",
    "parameter_grid": "damaris_ref.ensemble",
    "run_simulation": "damaris_ref.ensemble",
    "EnsembleResult": "damaris_ref.ensemble",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
