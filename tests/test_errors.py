"""Every exception class the package defines descends from the one root, DamarisError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import damaris4py
import damaris_ref
import damaris_ref.conformance
import damaris_ref.mocks
from damaris_ref.core import errors
from damaris_ref.core.errors import DamarisError

#: packages whose modules are walked: the mocks and the suite come from folders of their own,
#: which walking ``damaris_ref`` does not reach (``dask_espresso`` is one module, added alone)
PACKAGES = (damaris_ref, damaris_ref.mocks, damaris_ref.conformance, damaris4py)


def package_modules() -> list[ModuleType]:
    """Every importable module of the package and its shims (``__main__`` modules excepted)."""
    modules = [importlib.import_module("dask_espresso"), *PACKAGES]
    for package in PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith(".__main__"):
                modules.append(importlib.import_module(info.name))
    return modules


def defined_exceptions() -> list[type[BaseException]]:
    """Public exception classes defined (not merely imported) in the package's modules.

    Private ones (``_DuplicateKey``, ``_ForwardedSignal``) are control-flow signals that never
    leave their module, so they are not errors a user sees; neither are exit signals that are
    not ``Exception`` s (``pdi.ServerFinished`` is a ``SystemExit`` ending a server rank with
    status 0, which an ``except Exception`` in a user's program must not swallow).
    """
    found: dict[str, type[BaseException]] = {}
    for module in package_modules():
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


EXCEPTIONS = defined_exceptions()


def test_the_walk_finds_the_known_exception_classes():
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"ConfigError", "LayoutError", "TransportError", "SimulationError", "CaseError"} <= names
    assert len(EXCEPTIONS) >= 30


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_exception_class_derives_from_damaris_error(cls):
    assert issubclass(cls, DamarisError)


#: the area classes: every specific class sits under exactly one of them
AREAS = [
    value
    for value in vars(errors).values()
    if inspect.isclass(value) and issubclass(value, DamarisError) and value is not DamarisError
]
SPECIFIC = [cls for cls in EXCEPTIONS if cls.__module__ != errors.__name__]


@pytest.mark.parametrize("cls", SPECIFIC, ids=lambda cls: cls.__name__)
def test_exception_class_sits_under_one_area(cls):
    areas = [area for area in AREAS if issubclass(cls, area)]
    assert len(areas) == 1, f"{cls.__name__} is under {areas}"


def test_one_class_per_name():
    by_name: dict[str, list[str]] = {}
    for cls in EXCEPTIONS:
        by_name.setdefault(cls.__name__, []).append(cls.__module__)
    assert {name: mods for name, mods in by_name.items() if len(mods) > 1} == {}


def test_second_bases_are_kept_for_callers_that_catch_them():
    from damaris_ref.core.config import ConfigError
    from damaris_ref.runtime.transport.base import TransportError

    assert issubclass(ConfigError, ValueError)
    assert issubclass(TransportError, RuntimeError)


def test_a_server_leaving_a_pdi_program_is_an_exit_with_status_0_not_an_error():
    from damaris_ref import pdi

    leaving = pdi.ServerFinished()
    assert isinstance(leaving, SystemExit)
    assert not isinstance(leaving, Exception)
    assert leaving.code == 0
