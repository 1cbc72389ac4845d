"""Check a release the way a port author meets it: ``python tests/packaging/release_check.py``.

Builds the sdist and the wheel (the wheel from the sdist, so the sdist is complete), runs
``twine check --strict`` on both, checks that both hold the suite's data files, then installs
the wheel with only the ``mpich`` extra into a fresh virtual environment, outside the
repository, and runs ``python -m damaris_ref.conformance --impl reference`` there: it must pass
and leave no ``damaris-conformance-*`` folder in the temporary directory. ``tox -e package``
runs it; the build step needs ``build`` and ``twine``.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: repository folder -> (where it is installed, the data files it must ship)
DATA_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "conformance": (
        "damaris_ref/conformance",
        ("cases/*.yaml", "deviations/*.yaml", "*.json", "probe.py", "suite.ini"),
    ),
    "reference": ("damaris_ref", ("py.typed",)),
    "compat/damaris4py": ("damaris4py", ("py.typed",)),
    "reference/core/config": ("damaris_ref/core/config", ("schema.json",)),
    "reference/demo": ("damaris_ref/demo", ("*.yml",)),
    "reference/stats": ("damaris_ref/stats", ("*.yml",)),
}

#: seconds the install and the suite run may take before the check counts them as hung
STEP_TIMEOUT = 900


class ReleaseError(RuntimeError):
    """A built distribution lacks something, or does not install and pass."""


def expected_files() -> dict[str, str]:
    """``{repository path: installed path}`` of every data file a distribution must hold."""
    found = {}
    for folder, (installed, patterns) in DATA_FILES.items():
        for pattern in patterns:
            matches = sorted((ROOT / folder).glob(pattern))
            if not matches:
                raise ReleaseError(f"{folder}/{pattern} matches no file in {ROOT}")
            for path in matches:
                relative = path.relative_to(ROOT / folder).as_posix()
                found[f"{folder}/{relative}"] = f"{installed}/{relative}"
    return found


def missing_from_wheel(wheel: Path) -> list[str]:
    """The installed paths of data files the wheel lacks."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    return sorted(p for p in expected_files().values() if p not in names)


def missing_from_sdist(sdist: Path) -> list[str]:
    """The repository paths of data files the sdist lacks (under its top folder)."""
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    return sorted(p for p in expected_files() if p not in names)


def _run(command: Sequence[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a step; a failure raises with its output."""
    argv = [str(part) for part in command]
    print("release check:", " ".join(argv), flush=True)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False, **kwargs
    )
    if done.returncode != 0:
        raise ReleaseError(
            f"exit {done.returncode}: {' '.join(argv)}\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    return done


def build(dist: Path) -> tuple[Path, Path]:
    """Build the sdist and, from it, the wheel into ``dist``; return (sdist, wheel)."""
    _run([sys.executable, "-m", "build", "--outdir", dist, ROOT])
    [sdist] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    return sdist, wheel


def check_distributions(sdist: Path, wheel: Path) -> None:
    """``twine check --strict`` and the data files of both."""
    _run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel])
    checks = ((wheel, missing_from_wheel(wheel)), (sdist, missing_from_sdist(sdist)))
    for archive, missing in checks:
        if missing:
            raise ReleaseError(f"{archive.name} lacks: {', '.join(missing)}")


def install_and_run_suite(wheel: Path, where: Path, suite_args: Sequence[str]) -> str:
    """Install ``wheel[mpich]`` into a fresh venv under ``where`` and run the suite from
    there; return its output. Any ``damaris-conformance-*`` left in its TMPDIR is an error."""
    env_dir, tmp = where / "venv", where / "tmp"
    tmp.mkdir(parents=True)
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", f"{wheel}[mpich]"], cwd=where)
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("PYTHONPATH", None)
    done = _run(
        [python, "-m", "damaris_ref.conformance", "--impl", "reference", *suite_args],
        cwd=where,
        env=env,
    )
    left = fnmatch.filter(os.listdir(tmp), "damaris-conformance-*")
    if left:
        raise ReleaseError(f"the passing suite run left {', '.join(left)} in {tmp}")
    return done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    """Build, check, install and run the suite; exit 1 with the reason on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, help="keep the built files here (default: a temp dir)")
    parser.add_argument(
        "suite_args",
        nargs="*",
        default=["--max-examples", "2"],
        help="arguments for the suite run (default: --max-examples 2)",
    )
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="damaris-release-") as scratch:
        dist = options.dist or Path(scratch) / "dist"
        dist.mkdir(parents=True, exist_ok=True)
        if any(dist.iterdir()):
            print(f"release check: {dist} is not empty", file=sys.stderr)
            return 1
        try:
            sdist, wheel = build(dist)
            check_distributions(sdist, wheel)
            output = install_and_run_suite(wheel, Path(scratch) / "install", options.suite_args)
        except ReleaseError as error:
            print(f"release check: FAILED: {error}", file=sys.stderr)
            return 1
    summary = output.strip().splitlines()[-1] if output.strip() else "(no output)"
    print(f"release check: {sdist.name} and {wheel.name} pass; the installed suite: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
