"""Public names a package loads on first use (PEP 562), so that importing it stays cheap.

``damaris_ref``, ``damaris_ref.ensemble`` and ``damaris_ref.conformance`` each keep a table of
their lazily loaded names; this module turns such a table into the package's ``__getattr__``
and ``__dir__``. It imports only ``importlib`` and ``sys``: simulation task processes import
these packages and pay for what they load.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def lazy_attributes(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public name -> defining module
    ``table`` lists what is loaded on first use (a name that is the last part of its module's
    name is that module)."""

    def __getattr__(name: str) -> object:
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        return module if module_name.rpartition(".")[2] == name else getattr(module, name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
