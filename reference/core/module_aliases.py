"""The package's module paths before its modules were grouped into rooms, kept importable.

``import damaris_ref.topology`` still works and gives the module now at
``damaris_ref.core.topology`` (the same object), with a ``DeprecationWarning`` that names the new
path; submodules of a moved package follow it. These paths go in the release after next.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from types import ModuleType

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from importlib.abc import Loader as LoaderBase
else:
    LoaderBase = object  # importlib.abc would load typing, which `import damaris_ref` must not

#: old module path -> where that module lives now (a package's submodules follow it)
MOVED_MODULES = {
    "damaris_ref.api": "damaris_ref.runtime.session",
    "damaris_ref.cli_options": "damaris_ref.cli.options",
    "damaris_ref.cli_types": "damaris_ref.core.arg_types",
    "damaris_ref.client": "damaris_ref.runtime.client",
    "damaris_ref.config": "damaris_ref.core.config",
    "damaris_ref.config.environment": "damaris_ref.core.config.overrides",
    "damaris_ref.convert_cli": "damaris_ref.cli.convert",
    "damaris_ref.damaris": "damaris_ref.runtime.damaris",
    "damaris_ref.data": "damaris_ref.core.data",
    "damaris_ref.engine": "damaris_ref.runtime.in_process",
    "damaris_ref.environment": "damaris_ref.core.settings",
    "damaris_ref.errors": "damaris_ref.core.errors",
    "damaris_ref.file_kinds": "damaris_ref.core.file_kinds",
    "damaris_ref.grid": "damaris_ref.core.grid",
    "damaris_ref.launcher": "damaris_ref.launch.launcher",
    "damaris_ref.lazy": "damaris_ref.core.lazy",
    "damaris_ref.log_level": "damaris_ref.launch.log_level",
    "damaris_ref.mpi_runtime": "damaris_ref.runtime.rank_main",
    "damaris_ref.output_lines": "damaris_ref.core.output_lines",
    "damaris_ref.plot_hint": "damaris_ref.cli.plot_hint",
    "damaris_ref.polling": "damaris_ref.core.polling",
    "damaris_ref.process_output": "damaris_ref.launch.process_output",
    "damaris_ref.process_watcher": "damaris_ref.launch.process_watcher",
    "damaris_ref.processes": "damaris_ref.launch.processes",
    "damaris_ref.run_cli": "damaris_ref.cli.run",
    "damaris_ref.scripts": "damaris_ref.runtime.scripts",
    "damaris_ref.scripts.check": "damaris_ref.check.analysis",
    "damaris_ref.scripts.check_cli": "damaris_ref.check.cli",
    "damaris_ref.scripts.environment": "damaris_ref.dask_bridge.worker_env",
    "damaris_ref.seams": "damaris_ref.runtime.seams",
    "damaris_ref.server": "damaris_ref.runtime.server",
    "damaris_ref.server_role": "damaris_ref.runtime.server_role",
    "damaris_ref.shared_errors": "damaris_ref.launch.exit_status",
    "damaris_ref.shm_files": "damaris_ref.launch.shm_files",
    "damaris_ref.topology": "damaris_ref.core.topology",
    "damaris_ref.transport": "damaris_ref.runtime.transport",
    "damaris_ref.transport.mpi_abort": "damaris_ref.launch.job_abort",
}


def current_name(old_name: str) -> str | None:
    """Where the module once imported as ``old_name`` lives now; ``None`` if it did not move."""
    if old_name in MOVED_MODULES:
        return MOVED_MODULES[old_name]
    package, _, leaf = old_name.rpartition(".")
    parent = current_name(package) if package.startswith("damaris_ref.") else None
    return f"{parent}.{leaf}" if parent else None


class MovedModuleFinder(LoaderBase):
    """Resolves an old module path to the module at its new one, registered under both: a meta
    path finder and its own loader."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec for an old path (loaded by this finder); ``None`` for every other name."""
        if current_name(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        """The module at the new path, imported if need be."""
        new_name = current_name(spec.name)
        assert new_name is not None  # find_spec answered only for moved names
        warnings.warn(
            f"{spec.name} is now {new_name}; the old path will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new_name)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was executed when its new path was imported."""


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once), ahead of the path-based finders that
    would otherwise load a moved package's files a second time under the old name."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
