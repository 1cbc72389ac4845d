#!/usr/bin/env python3
"""Bootstrap for a fresh machine: ``python3 tasks.py demo`` or ``python3 tasks.py test``.

Needs only Python 3.11+. It creates ``.venv`` with tox (and tox-uv, which makes tox create its
environments with uv: seconds instead of minutes of pip per environment) on first use, then
hands over to tox, which builds the package with its MPI wheel, Dask and test tools in isolated
environments:
``demo`` runs ``tox -e demo`` (the main demo); ``test`` runs every test environment, exactly
what CI runs, as many at once as the machine has cores (``tox run-parallel``: each environment's
result line as it ends, the whole output of any that fails). Arguments after the task go to tox
unchanged, and then tox runs as told (``test -e py`` runs that one environment, its output
shown as it comes).
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
TASKS = {"demo": ["-e", "demo"], "test": []}
#: what a task runs when given no tox arguments: ``test``, every environment of tox.ini's list,
#: as many at once as there are cores (on 2 cores 10 to 12 minutes, one after the other 14)
WITHOUT_ARGUMENTS = {"test": ["run-parallel", "--parallel", "auto"]}
#: what .venv holds: tox, and the plugin that has it install with uv (as tox.ini requires)
TOX = ("tox>=4.11", "tox-uv>=1.11")


def _python() -> Path:
    return VENV / ("Scripts" if sys.platform == "win32" else "bin") / "python"


def _ensure_tox() -> None:
    if not _python().exists():
        print("tasks.py: creating .venv (first run only)", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    probe = subprocess.run([_python(), "-c", "import tox, tox_uv"], capture_output=True)
    if probe.returncode != 0:
        print("tasks.py: installing tox and tox-uv into .venv (first run only)", flush=True)
        subprocess.run([_python(), "-m", "pip", "install", "-q", *TOX], check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TASKS:
        print(f"usage: python3 tasks.py {{{','.join(TASKS)}}} [tox arguments...]", file=sys.stderr)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must run on any python3 to say so
        print("tasks.py: Python 3.11 or newer is required", file=sys.stderr)
        return 2
    _ensure_tox()
    arguments = argv[1:] or WITHOUT_ARGUMENTS.get(argv[0], [])
    command = [str(_python()), "-m", "tox", *TASKS[argv[0]], *arguments]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
