"""The declared public API: every module's ``__all__`` names what it has, each documented, and
``import damaris_ref`` stays cheap.

A module is public when it declares ``__all__``; docs/api.rst documents those modules from
their docstrings. A class or function needs a docstring of its own; a constant or type alias
needs a ``#:`` comment above its assignment (what Sphinx shows for it).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import damaris_ref

#: packages whose names are loaded on first use: ``_LAZY`` maps each name to its module
LAZY_PACKAGES = (
    "damaris_ref",
    "damaris_ref.ensemble",
    "damaris_ref.conformance",
    "damaris_ref.dask_bridge",
)
#: the modules a port author reads without MPI or Dask (docs/architecture.md: the pure core)
PURE_CORE = (
    "damaris_ref.core.config",
    "damaris_ref.core.topology",
    "damaris_ref.core.data",
    "damaris_ref.core.grid",
)
HEAVY = ("mpi4py", "dask", "distributed")
#: subpackages installed from folders of their own (pyproject's package-dir). In an editable
#: install, the development setup, ``damaris_ref.__path__`` is ``reference/`` alone and these
#: are found by setuptools' import hook, which ``pkgutil`` does not consult; walking an
#: installed wheel finds them too, and the set below counts them once
FOLDER_PACKAGES = ("damaris_ref.mocks", "damaris_ref.conformance")


def _source(module_name: str) -> Path:
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.origin is not None, module_name
    return Path(spec.origin)


def _declares_all(module_name: str) -> bool:
    tree = ast.parse(_source(module_name).read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(target, ast.Name) and target.id == "__all__"
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
        for node in tree.body
    )


def public_modules() -> list[str]:
    """Every module of the installed packages that declares ``__all__`` (found without
    importing the modules themselves; ``__main__`` modules run when imported)."""
    names = {"damaris_ref", "damaris4py", "dask_espresso", *FOLDER_PACKAGES}
    for package_name in ("damaris_ref", "damaris4py", *FOLDER_PACKAGES):
        package = importlib.import_module(package_name)
        found = pkgutil.walk_packages(package.__path__, f"{package_name}.")
        names |= {info.name for info in found if not info.name.endswith(".__main__")}
    return sorted(name for name in names if _declares_all(name))


def _doc_comment(module_name: str, name: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``name`` is documented where it is assigned: a ``#:`` comment right above, or a
    string right after. A name the module imports is looked up in the module it comes from."""
    if module_name in seen:
        return False
    path = _source(module_name)
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    for index, node in enumerate(tree.body):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            following = tree.body[index + 1] if index + 1 < len(tree.body) else None
            documented_after = isinstance(following, ast.Expr) and isinstance(
                following.value, ast.Constant
            )
            return above.startswith("#:") or documented_after
    package = module_name if path.name == "__init__.py" else module_name.rpartition(".")[0]
    for node in ast.walk(tree):  # imported here, lazily (TYPE_CHECKING) or not
        if isinstance(node, ast.ImportFrom):
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _doc_comment(source, alias.name, seen | {module_name})
    return False


def _own_docstring(obj: object) -> str:
    """The object's docstring, not one a dataclass generated from its fields."""
    doc = inspect.getdoc(obj) or ""
    generated = f"{getattr(obj, '__name__', '')}("
    return "" if doc.startswith(generated) else doc


@pytest.mark.parametrize("module_name", public_modules())
def test_every_public_name_exists_and_is_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert _own_docstring(module), f"{module_name} has no module docstring"
    assert len(set(module.__all__)) == len(module.__all__), f"{module_name}.__all__ repeats a name"
    undocumented = []
    for name in module.__all__:
        obj = getattr(module, name)  # AttributeError names what __all__ lists but lacks
        if isinstance(obj, ModuleType) or inspect.isclass(obj) or inspect.isroutine(obj):
            documented = bool(_own_docstring(obj))
        else:
            documented = _doc_comment(module_name, name)
        if not documented:
            undocumented.append(name)
    assert not undocumented, f"{module_name}: undocumented public names {undocumented}"


def test_the_curated_packages_are_public() -> None:
    modules = set(public_modules())
    for expected in (
        "damaris_ref",
        "damaris_ref.runtime.damaris",
        "damaris_ref.core.config",
        "damaris_ref.core.topology",
        "damaris_ref.core.data",
        "damaris_ref.dask_bridge",
        "damaris_ref.ensemble",
        "damaris_ref.conformance",
        "damaris4py.server",
        "dask_espresso",
    ):
        assert expected in modules


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_type_checkers_see_every_lazily_loaded_name(package: str) -> None:
    """The ``if TYPE_CHECKING:`` imports of a lazy package name exactly the names of its
    ``_LAZY`` table, each from the module the table loads it from."""
    module = importlib.import_module(package)
    tree = ast.parse(_source(package).read_text(encoding="utf-8"))
    [block] = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    seen = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"{package}: import {alias.name} as itself"
            is_module = module._LAZY.get(alias.name) == f"{node.module}.{alias.name}"
            seen[alias.name] = f"{node.module}.{alias.name}" if is_module else node.module
    assert seen == module._LAZY


def test_import_damaris_ref_loads_neither_mpi4py_nor_dask() -> None:
    """The package, its pure core and the names they export, without mpi4py or Dask."""
    names = ", ".join(repr(n) for n in damaris_ref._LAZY if damaris_ref._LAZY[n] in PURE_CORE)
    code = (
        "import sys, importlib, damaris_ref\n"
        f"for module in {PURE_CORE!r}:\n"
        "    importlib.import_module(module)\n"
        f"for name in ({names},):\n"
        "    getattr(damaris_ref, name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_run_whose_scheduler_file_names_no_scheduler_imports_no_dask(tmp_path: Path) -> None:
    """Every rank of such a run (the seed's own 3dmesh_py.yml without a scheduler) starts
    without Dask: importing ``distributed`` costs each MPI rank about a second of CPU."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    for name in ("3dmesh_py.yml", "3dmesh_py.py"):
        (tmp_path / name).write_bytes((examples / name).read_bytes())
    argv = ["run", "--in-process", "-n", "5", "3dmesh_py", "3dmesh_py.yml", "-i", "2", "-s", "0"]
    code = (
        "import sys\n"
        "from damaris_ref.cli import main\n"
        f"status = main({argv!r})\n"
        "print(status, sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "does not exist" in done.stderr  # the run did look for the scheduler
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr


def test_a_lazy_name_loads_its_module_on_first_use() -> None:
    code = (
        "import sys, damaris_ref\n"
        "assert 'damaris_ref.core.config' not in sys.modules\n"
        "from damaris_ref import load_config, damaris\n"
        "import damaris_ref.core.config, damaris_ref.runtime.damaris\n"
        "assert load_config is damaris_ref.core.config.load_config\n"
        "assert damaris is damaris_ref.runtime.damaris\n"
    )
    subprocess.run([sys.executable, "-c", code], timeout=60, check=True)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        damaris_ref.no_such_name  # noqa: B018 - the attribute access is the test
