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

from damaris_ref.core import module_aliases
from damaris_ref.core.lazy import lazy_attributes

module_aliases.install()  # the module paths from before the rooms still import, with a warning

#: the package's version, as in pyproject.toml
__version__ = "0.1.0"

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:  # what type checkers see of the names loaded on first use
    from damaris_ref.core.config import Config as Config
    from damaris_ref.core.config import dump_xml as dump_xml
    from damaris_ref.core.config import dump_yaml as dump_yaml
    from damaris_ref.core.config import load_config as load_config
    from damaris_ref.core.config import load_config_text as load_config_text
    from damaris_ref.core.data import Block as Block
    from damaris_ref.core.data import ReassemblyError as ReassemblyError
    from damaris_ref.core.data import block_key as block_key
    from damaris_ref.core.data import iteration_tag as iteration_tag
    from damaris_ref.core.data import parse_block_key as parse_block_key
    from damaris_ref.core.data import reassemble as reassemble
    from damaris_ref.core.data import reassemble_entry as reassemble_entry
    from damaris_ref.core.errors import ConfigError as ConfigError
    from damaris_ref.core.errors import ConformanceError as ConformanceError
    from damaris_ref.core.errors import DamarisClientError as DamarisClientError
    from damaris_ref.core.errors import DamarisConfigError as DamarisConfigError
    from damaris_ref.core.errors import DamarisConformanceError as DamarisConformanceError
    from damaris_ref.core.errors import DamarisDaskError as DamarisDaskError
    from damaris_ref.core.errors import DamarisEnsembleError as DamarisEnsembleError
    from damaris_ref.core.errors import DamarisError as DamarisError
    from damaris_ref.core.errors import DamarisLayoutError as DamarisLayoutError
    from damaris_ref.core.errors import DamarisRunError as DamarisRunError
    from damaris_ref.core.errors import DamarisScriptError as DamarisScriptError
    from damaris_ref.core.errors import DamarisTransportError as DamarisTransportError
    from damaris_ref.core.errors import DaskError as DaskError
    from damaris_ref.core.errors import RunError as RunError
    from damaris_ref.core.errors import ScriptError as ScriptError
    from damaris_ref.core.errors import UsageError as UsageError
    from damaris_ref.core.grid import BlockGrid as BlockGrid
    from damaris_ref.core.grid import GridError as GridError
    from damaris_ref.core.grid import block_grid as block_grid
    from damaris_ref.core.topology import LayoutError as LayoutError
    from damaris_ref.core.topology import Mode as Mode
    from damaris_ref.core.topology import Topology as Topology
    from damaris_ref.core.topology import compute_topology as compute_topology
    from damaris_ref.core.topology import world_size_for as world_size_for
    from damaris_ref.dask_bridge import global_array as global_array
    from damaris_ref.dask_bridge import iteration_array as iteration_array
    from damaris_ref.dask_bridge import release_kept as release_kept
    from damaris_ref.ensemble import EnsembleResult as EnsembleResult
    from damaris_ref.ensemble import parameter_grid as parameter_grid
    from damaris_ref.ensemble import run_ensemble as run_ensemble
    from damaris_ref.ensemble import run_simulation as run_simulation
    from damaris_ref.runtime import damaris as damaris
    from damaris_ref.runtime.client import ClientError as ClientError
    from damaris_ref.runtime.client import UnknownNameError as UnknownNameError
    from damaris_ref.runtime.client import UnknownParameterError as UnknownParameterError
    from damaris_ref.runtime.client import UnknownVariableError as UnknownVariableError
    from damaris_ref.runtime.in_process import RankFailed as RankFailed
    from damaris_ref.runtime.in_process import run_in_process as run_in_process
    from damaris_ref.runtime.rank_main import run_mpi_rank as run_mpi_rank
    from damaris_ref.runtime.session import Damaris as Damaris
    from damaris_ref.runtime.session import DamarisStateError as DamarisStateError

#: public name -> the module that defines it (``damaris`` is itself a module)
_LAZY = {
    # the client API a simulation calls, and the in-process engine that runs it without MPI
    "damaris": "damaris_ref.runtime.damaris",
    "Damaris": "damaris_ref.runtime.session",
    "UnknownNameError": "damaris_ref.runtime.client",
    "run_in_process": "damaris_ref.runtime.in_process",
    "RankFailed": "damaris_ref.runtime.in_process",
    "run_mpi_rank": "damaris_ref.runtime.rank_main",
    # configuration
    "Config": "damaris_ref.core.config",
    "load_config": "damaris_ref.core.config",
    "load_config_text": "damaris_ref.core.config",
    "dump_yaml": "damaris_ref.core.config",
    "dump_xml": "damaris_ref.core.config",
    # routing: who is a client, who a server, which server owns which client (spec §1)
    "Topology": "damaris_ref.core.topology",
    "Mode": "damaris_ref.core.topology",
    "compute_topology": "damaris_ref.core.topology",
    "world_size_for": "damaris_ref.core.topology",
    # blocks, their keys and tags in DamarisData, and reassembly (spec §3)
    "Block": "damaris_ref.core.data",
    "block_key": "damaris_ref.core.data",
    "parse_block_key": "damaris_ref.core.data",
    "iteration_tag": "damaris_ref.core.data",
    "reassemble": "damaris_ref.core.data",
    "reassemble_entry": "damaris_ref.core.data",
    "block_grid": "damaris_ref.core.grid",
    "BlockGrid": "damaris_ref.core.grid",
    # the Dask bridge, from a pyscript (spec §4-§5)
    "global_array": "damaris_ref.dask_bridge",
    "iteration_array": "damaris_ref.dask_bridge",
    "release_kept": "damaris_ref.dask_bridge",
    # the error family: a command prints these as one line; catch the member that says what
    # to do next (docs/architecture.md, "Errors")
    "DamarisError": "damaris_ref.core.errors",
    "ConfigError": "damaris_ref.core.errors",
    "UsageError": "damaris_ref.core.errors",
    "RunError": "damaris_ref.core.errors",
    "ScriptError": "damaris_ref.core.errors",
    "DaskError": "damaris_ref.core.errors",
    "ConformanceError": "damaris_ref.core.errors",
    # ensembles of short simulations on Dask
    "run_ensemble": "damaris_ref.ensemble",
    "parameter_grid": "damaris_ref.ensemble",
    "run_simulation": "damaris_ref.ensemble",
    "EnsembleResult": "damaris_ref.ensemble",
    # the earlier names of errors now in the family: deprecated aliases, kept for one release
    # (docs/api.rst lists what each is now)
    "ClientError": "damaris_ref.runtime.client",
    "UnknownVariableError": "damaris_ref.runtime.client",
    "UnknownParameterError": "damaris_ref.runtime.client",
    "DamarisStateError": "damaris_ref.runtime.session",
    "LayoutError": "damaris_ref.core.topology",
    "ReassemblyError": "damaris_ref.core.data",
    "GridError": "damaris_ref.core.grid",
    "DamarisConfigError": "damaris_ref.core.errors",
    "DamarisLayoutError": "damaris_ref.core.errors",
    "DamarisClientError": "damaris_ref.core.errors",
    "DamarisTransportError": "damaris_ref.core.errors",
    "DamarisScriptError": "damaris_ref.core.errors",
    "DamarisDaskError": "damaris_ref.core.errors",
    "DamarisEnsembleError": "damaris_ref.core.errors",
    "DamarisRunError": "damaris_ref.core.errors",
    "DamarisConformanceError": "damaris_ref.core.errors",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
