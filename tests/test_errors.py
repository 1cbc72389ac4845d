"""The error family: one root, a member per thing a caller does differently, each documented;
every error the package defines sits under one member; the earlier names resolve to the
class that now stands for them."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import damaris4py
import damaris_ref
import damaris_ref.conformance
import damaris_ref.mocks
from damaris_ref.core import errors
from damaris_ref.core.errors import (
    ConfigError,
    ConformanceError,
    DamarisError,
    DaskError,
    RunError,
    ScriptError,
    UsageError,
)

ROOT = Path(__file__).resolve().parents[1]
#: packages whose modules are walked: the mocks and the suite come from folders of their own,
#: which walking ``damaris_ref`` does not reach (``dask_espresso`` is one module, added alone)
PACKAGES = (damaris_ref, damaris_ref.mocks, damaris_ref.conformance, damaris4py)
#: the folders the package is built from (pyproject ``package-dir``)
SOURCE_FOLDERS = ("reference", "mocks", "conformance", "compat")


def package_modules() -> list[ModuleType]:
    """Every importable module of the package and its shims (``__main__`` modules excepted)."""
    modules = [importlib.import_module("dask_espresso"), *PACKAGES]
    for package in PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith(".__main__"):
                modules.append(importlib.import_module(info.name))
    return modules


def defined_exceptions() -> list[type[BaseException]]:
    """Public exception classes defined (not merely imported or aliased) in the package.

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
                and value.__name__ == name  # an alias is the class it names, not a new one
                and not name.startswith("_")
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


EXCEPTIONS = defined_exceptions()
#: the family's members below the root, as core.errors declares them
MEMBERS = [getattr(errors, name) for name in errors.__all__ if name != "DamarisError"]
SPECIFIC = [cls for cls in EXCEPTIONS if cls.__module__ != errors.__name__]


def errors_section() -> str:
    """The "Errors" section of docs/architecture.md (up to the next heading of its level)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    match = re.search(r"^## Errors\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, "docs/architecture.md has no '## Errors' section"
    return match.group(1)


def test_the_family_is_the_root_and_six_members():
    assert [cls.__name__ for cls in MEMBERS] == sorted(
        ["ConfigError", "ConformanceError", "DaskError", "RunError", "ScriptError", "UsageError"]
    )
    assert all(cls.__bases__[0] is DamarisError for cls in MEMBERS)


@pytest.mark.parametrize("cls", [DamarisError, *MEMBERS], ids=lambda cls: cls.__name__)
def test_each_member_is_documented_with_what_a_caller_does(cls):
    assert inspect.getdoc(cls), f"{cls.__name__} has no docstring"
    rows = [
        line for line in errors_section().splitlines() if line.startswith(f"| `{cls.__name__}` |")
    ]
    assert len(rows) == 1, f"{cls.__name__} is not a row of the Errors table"
    what_a_caller_does = rows[0].split("|")[2].strip()
    assert what_a_caller_does, f"the Errors table does not say what a caller does with {cls}"
    assert getattr(damaris_ref, cls.__name__) is cls  # importable from the package itself


@pytest.mark.parametrize("cls", SPECIFIC, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_a_class_below_a_member_says_why_it_exists(cls):
    """Every further class has a caller that catches exactly it, named in its docstring and in
    the architecture's list of them."""
    assert "A class of its own" in (cls.__doc__ or ""), cls.__doc__
    assert f"`{cls.__name__}`" in errors_section()


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_class_sits_under_exactly_one_member(cls):
    assert issubclass(cls, DamarisError)
    if cls is not DamarisError:
        members = [member for member in MEMBERS if issubclass(cls, member)]
        assert len(members) == 1, f"{cls.__name__} is under {members}"


def test_one_class_per_name():
    by_name: dict[str, list[str]] = {}
    for cls in EXCEPTIONS:
        by_name.setdefault(cls.__name__, []).append(cls.__module__)
    assert {name: mods for name, mods in by_name.items() if len(mods) > 1} == {}


#: the earlier public names -> the class each now is (kept importable for one release)
ALIASES = {
    "damaris_ref.DamarisConfigError": ConfigError,
    "damaris_ref.DamarisLayoutError": DamarisError,
    "damaris_ref.DamarisClientError": UsageError,
    "damaris_ref.DamarisTransportError": RunError,
    "damaris_ref.DamarisScriptError": ScriptError,
    "damaris_ref.DamarisDaskError": DaskError,
    "damaris_ref.DamarisEnsembleError": DamarisError,
    "damaris_ref.DamarisRunError": RunError,
    "damaris_ref.DamarisConformanceError": ConformanceError,
    "damaris_ref.LayoutError": ConfigError,
    "damaris_ref.ReassemblyError": UsageError,
    "damaris_ref.GridError": UsageError,
    "damaris_ref.ClientError": UsageError,
    "damaris_ref.DamarisStateError": UsageError,
    "damaris_ref.UnknownVariableError": "damaris_ref.runtime.client.UnknownNameError",
    "damaris_ref.UnknownParameterError": "damaris_ref.runtime.client.UnknownNameError",
    "damaris_ref.core.config.PdiFormError": ConfigError,
    "damaris_ref.core.config.pdi_expressions.PdiExpressionError": ConfigError,
    "damaris_ref.dask_bridge.DaskBridgeError": DaskError,
    "damaris_ref.ensemble.EnsembleInputError": UsageError,
    "damaris_ref.ensemble.SimulationFailed": "damaris_ref.ensemble.errors.SimulationError",
    "damaris_ref.ensemble.SimulationTimeout": "damaris_ref.ensemble.errors.SimulationError",
    "damaris_ref.ensemble.SimulationOutputError": "damaris_ref.ensemble.errors.SimulationError",
    "damaris_ref.launch.processes.ProcessError": RunError,
    "damaris_ref.check.analysis.CannotAnalyse": ScriptError,
}


def resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("old", "new"), ALIASES.items(), ids=list(ALIASES))
def test_an_earlier_name_is_the_class_that_now_stands_for_it(old, new):
    assert resolve(old) is (resolve(new) if isinstance(new, str) else new)


@pytest.mark.parametrize("old", ALIASES)
def test_an_earlier_name_is_listed_as_deprecated_in_the_api_reference(old):
    api = (ROOT / "docs" / "api.rst").read_text(encoding="utf-8")
    deprecated = api[api.index("Deprecated names") :]
    assert f"``{old}``" in deprecated


def test_the_built_in_bases_callers_catch_are_kept():
    from damaris_ref import pdi
    from damaris_ref.conformance.deviations import KnownDeviation
    from damaris_ref.dask_bridge.segments import SharedMemoryUnavailable

    for cls, base in [
        (ConfigError, ValueError),
        (UsageError, ValueError),
        (ConformanceError, ValueError),
        (RunError, RuntimeError),
        (DaskError, RuntimeError),
        (pdi.Error, RuntimeError),
        (SharedMemoryUnavailable, OSError),
        (KnownDeviation, AssertionError),
    ]:
        assert issubclass(cls, base), (cls, base)


def test_a_server_leaving_a_pdi_program_is_an_exit_with_status_0_not_an_error():
    from damaris_ref import pdi

    leaving = pdi.ServerFinished()
    assert isinstance(leaving, SystemExit)
    assert not isinstance(leaving, Exception)
    assert leaving.code == 0


def test_a_config_error_without_a_place_is_its_message_alone():
    assert str(ConfigError("dedicated cores must divide clients")) == (
        "dedicated cores must divide clients"
    )
    located = ConfigError("bad", file="a.yml", path="architecture.domains", line=3)
    assert str(located) == "a.yml:3: architecture.domains: bad"


#: the plain RuntimeErrors the package raises: each reports a broken invariant of its own (a
#: bug, which keeps its traceback), never a problem the user can fix
BUG_REPORTS = (
    "a loopback server is driven by its client",
    "on a node without a window",
    "to a client without a slice",
    "routing is broken",
)


def raised_runtime_errors() -> list[str]:
    """The source text of every ``raise RuntimeError(...)`` in the package's folders."""
    found = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                if (
                    isinstance(node, ast.Raise)
                    and isinstance(node.exc, ast.Call)
                    and isinstance(node.exc.func, ast.Name)
                    and node.exc.func.id == "RuntimeError"
                ):
                    found.append(
                        f"{path.relative_to(ROOT)}: {ast.get_source_segment(source, node)}"
                    )
    return found


def test_a_plain_runtime_error_is_raised_only_for_a_bug():
    """An error a user can fix is a DamarisError, which a command prints as one line."""
    raised = raised_runtime_errors()
    assert raised, "the walk found no raise at all: it looks in the wrong place"
    users = [text for text in raised if not any(bug in text for bug in BUG_REPORTS)]
    assert users == []
