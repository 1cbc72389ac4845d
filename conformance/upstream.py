"""Upstream Damaris as a test oracle: the suite against its executables, its examples on ours.

``python -m damaris_ref.conformance.upstream`` (what ``tox -e upstream`` runs) takes a build of
upstream Damaris with its Python support and examples, named by environment variables, and

1. runs the whole conformance suite against upstream's ``3dmesh_py`` and ``3dmesh_py_domains``
   with XML configs and the port's known deviations (spec §9), so every check the suite makes
   is seen to hold on the implementation it stands for;
2. runs upstream's own example files (``3dmesh_py.xml``/``.py`` on two dedicated cores, and
   ``3dmesh_dask.xml``/``.py`` with a local Dask scheduler), unchanged but for the core count,
   on the reference's executables, and checks the per-server sums and the PASS lines.

Environment variables (``DAMARIS_UPSTREAM_BUILD`` is required):

- ``DAMARIS_UPSTREAM_BUILD``: upstream's build folder (holding ``examples/python/3dmesh_py``);
- ``DAMARIS_UPSTREAM_PYTHONPATH``: where its ``damaris4py`` package was installed;
- ``DAMARIS_UPSTREAM_SOURCE``: its source folder, for step 2 (skipped without it);
- ``DAMARIS_UPSTREAM_MPIRUN``: the ``mpirun`` it was built with (default ``/usr/bin/mpirun``);
- ``DAMARIS_UPSTREAM_LIBRARY_PATH``: added to ``LD_LIBRARY_PATH`` for a shared build;
- ``DAMARIS_UPSTREAM_DEVIATIONS``: a deviations name or file (default ``upstream-1.7.1``).

Arguments are passed to the suite (pytest), e.g. ``-x`` or ``--report-json FILE``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from damaris_ref.conformance.cases import case_by_id
from damaris_ref.conformance.cli import main as suite_main
from damaris_ref.core.errors import ConformanceError
from damaris_ref.core.output_lines import client_totals, server_sums
from damaris_ref.dask_bridge.local_scheduler import local_scheduler
from damaris_ref.launch.launcher import (
    build_command,
    detect_flavour,
    find_mpiexec,
    read_rank_output,
)

#: what upstream's executables cannot do on one host: its nodes are real hosts, and the
#: reference's ranks-per-node emulation is an extension its schema does not allow
UNSUPPORTED = "emulated-nodes,dedicated-nodes"
EXAMPLE_TIMEOUT = 300.0


def _folder(variable: str, environ: Mapping[str, str], must_hold: str) -> Path:
    value = environ.get(variable)
    if not value:
        raise ConformanceError(f"{variable} is not set: it names a folder holding {must_hold}")
    folder = Path(value)
    if not (folder / must_hold).exists():
        raise ConformanceError(f"{variable}={value}: no {must_hold} there")
    return folder


def suite_arguments(environ: Mapping[str, str]) -> list[str]:
    """The suite's options that drive upstream's two executables (spec §6 CLIs)."""
    build = _folder("DAMARIS_UPSTREAM_BUILD", environ, "examples/python/3dmesh_py")
    mpirun = environ.get("DAMARIS_UPSTREAM_MPIRUN", "/usr/bin/mpirun")
    child_env = {
        "PATH": "/usr/bin:/bin",  # upstream's own MPI and Python, not this virtualenv's
        "PYTHONPATH": environ.get("DAMARIS_UPSTREAM_PYTHONPATH", ""),
        "LD_LIBRARY_PATH": environ.get("DAMARIS_UPSTREAM_LIBRARY_PATH", ""),
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    }
    prefix = shlex.join(["env", *(f"{k}={v}" for k, v in child_env.items())])
    launch = f"{prefix} {shlex.quote(mpirun)} --oversubscribe -np {{np}}"
    python_examples = build / "examples" / "python"
    mesh = shlex.quote(str(python_examples / "3dmesh_py"))
    domains = shlex.quote(str(python_examples / "3dmesh_py_domains"))
    return [
        "--impl-cmd",
        f"{launch} {mesh} {{config}} -i {{iterations}} -v 2 {{r}} -s 0",
        "--impl-cmd-domains",  # upstream's domains executable has no -s: it sleeps 1 s
        f"{launch} {domains} {{config}} -i {{iterations}} -d {{domains}} {{r}}",
        "--config-format",
        "xml",
        "--without",
        UNSUPPORTED,
        "--deviations",
        environ.get("DAMARIS_UPSTREAM_DEVIATIONS", "upstream-1.7.1"),
    ]


def _run_reference(
    ranks: int, argv: Sequence[str], folder: Path, env: Mapping[str, str] | None = None
) -> str:
    """Run one of the reference's executables under mpiexec in ``folder``; its stdout, read
    rank by rank (lines of two ranks never run together) and joined in rank order."""
    mpiexec = find_mpiexec()
    outputs = Path(tempfile.mkdtemp(prefix="ranks-", dir=folder))
    launch = build_command(
        ranks, argv, mpiexec=mpiexec, flavour=detect_flavour(mpiexec), rank_output=outputs
    )
    done = subprocess.run(
        launch.argv,
        cwd=folder,
        env={**os.environ, **launch.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{shlex.join(launch.argv)} exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return "".join(
        text if text.endswith("\n") else text + "\n" for text in read_rank_output(outputs).values()
    )


def _executable(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def check_upstream_examples(source: Path, folder: Path) -> list[str]:
    """Run upstream's 3dmesh examples unchanged on the reference; what differs (empty: all
    good)."""
    examples = source / "examples" / "python"
    problems = []
    for name in ("3dmesh_py.xml", "3dmesh_py.py", "3dmesh_dask.xml", "3dmesh_dask.py"):
        shutil.copy(examples / name, folder / name)
    config = folder / "3dmesh_py.xml"  # upstream's file says one core; its known sums use two
    config.write_text(re.sub(r'cores="\d+"', 'cores="2"', config.read_text(), count=1))
    golden = case_by_id("seed-6ranks-2cores-r").expect
    out = _run_reference(
        6, [_executable("3dmesh_py"), str(config), *["-i", "3", "-v", "2", "-r", "-s", "0"]], folder
    )
    sums = {i: sorted(v) for i, v in server_sums(out).items()}
    want = {i: sorted(v) for i, v in golden.server_sums.items()}
    if sums != want:
        problems.append(f"upstream 3dmesh_py.xml/.py: per-server sums {sums}, expected {want}")
    with local_scheduler(folder) as scheduler_file:
        shutil.copy(scheduler_file, folder / "dask_file.json")  # the name upstream's XML uses
        arguments = ["3dmesh_dask.xml", "-i", "3", "-d", "4", "-r", "-s", "0"]
        argv = [_executable("3dmesh_py_domains"), *arguments]
        out = _run_reference(6, argv, folder)
    passes = out.count("\nPASS") + out.startswith("PASS")
    totals = client_totals(out)
    if passes != 3 or "FAIL" in out or len(totals) != 3:
        problems.append(
            f"upstream 3dmesh_dask.xml/.py: {passes} PASS line(s) for {len(totals)} iteration(s), "
            f"expected 3 and 3:\n{out[-2000:]}"
        )
    return problems


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Both steps; the exit code is non-zero when either finds a difference."""
    environ = os.environ if environ is None else environ
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = suite_arguments(environ)
    except ConformanceError as error:
        print(f"damaris-ref upstream: {error}", file=sys.stderr)
        return 2
    status = suite_main([*options, *args])
    source = environ.get("DAMARIS_UPSTREAM_SOURCE")
    if not source:
        print("upstream examples: skipped (DAMARIS_UPSTREAM_SOURCE is not set)")
        return status
    with tempfile.TemporaryDirectory(prefix="damaris-upstream-examples-") as folder:
        problems = check_upstream_examples(Path(source), Path(folder))
    for problem in problems:
        print(f"upstream examples: {problem}", file=sys.stderr)
    if not problems:
        print("upstream examples: 3dmesh_py and 3dmesh_dask ran unchanged on the reference: PASS")
    return status or (1 if problems else 0)


if __name__ == "__main__":
    sys.exit(main())
