"""Type-check the installed package's sources with mypy: ``python tests/lint/typecheck.py``.

The import package ``damaris_ref`` is assembled from top-level folders by setuptools'
``package-dir`` (``reference/`` is ``damaris_ref``, ``mocks/`` is ``damaris_ref.mocks``...),
a mapping mypy's own file and package discovery cannot follow, and an editable install hides
it behind an import hook mypy does not run. So this names every source file with its module
name, read from that same mapping in ``pyproject.toml``, and hands the list to mypy's build
API; the options come from ``[tool.mypy]`` there, and arguments are mypy's own flags.
``tox -e lint`` runs it; it exits 1 when mypy reports an error.

On an installed wheel, ``mypy -p damaris_ref -p damaris4py`` does check the package with the
same overrides, but it names the installed copies in ``site-packages`` rather than the files
to edit, and it cannot find ``dask_espresso``, a single-file module, which cannot carry the
``py.typed`` marker that mypy looks for there; this driver checks the repository's files.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from mypy import build
from mypy.errors import CompileError
from mypy.main import process_options
from mypy.modulefinder import BuildSource

ROOT = Path(__file__).resolve().parents[2]


def package_dirs(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, Path]:
    """``{package: folder}`` from setuptools' ``package-dir`` (``""`` is the top level)."""
    setuptools = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
    return {
        package: pyproject.parent / folder for package, folder in setuptools["package-dir"].items()
    }


def module_sources(dirs: dict[str, Path]) -> list[BuildSource]:
    """Every ``.py`` file under the mapped folders, named by the module it is installed as.

    A folder mapped to a subpackage of its own is left to that subpackage's entry.
    """
    sources = []
    for package, folder in dirs.items():
        nested = [
            other
            for name, other in dirs.items()
            if name != package and other.is_relative_to(folder)
        ]
        for path in sorted(folder.rglob("*.py")):
            if any(path.is_relative_to(other) for other in nested):
                continue
            parts = [*filter(None, [package]), *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            sources.append(BuildSource(str(path.relative_to(ROOT)), ".".join(parts)))
    return sources


def main(argv: list[str]) -> int:
    """Run mypy over the package; print its messages; 0 when clean, 1 on errors."""
    # process_options needs a target; the real ones are the sources named below
    _, options = process_options([*argv, "--config-file", str(ROOT / "pyproject.toml"), "-c", ""])
    sources = module_sources(package_dirs())
    try:
        result = build.build(sources, options)
    except CompileError as error:
        print("\n".join(error.messages), file=sys.stderr)
        return 2
    for line in result.errors:
        print(line)
    errors = sum(1 for line in result.errors if ": error:" in line)
    print(
        f"mypy: {errors} errors in {len(sources)} modules"
        if errors
        else f"mypy: no issues in {len(sources)} modules"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
