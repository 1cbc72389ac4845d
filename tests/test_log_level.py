"""The reference's own processes log at WARNING unless DAMARIS_LOG_LEVEL asks for more: then
their records, and what the Dask workers and schedulers they start print, reach stderr.
Each case is a fresh process, whose logging nothing else has configured."""

from __future__ import annotations

import os
import subprocess
import sys

PROGRAM = """
import logging
from damaris_ref.launch.log_level import STARTED_PROCESS_OUTPUT, apply_log_level

apply_log_level()
logging.getLogger("damaris_ref.dask_bridge.workers").log(
    STARTED_PROCESS_OUTPUT, "a line a started worker printed"
)
logging.getLogger("damaris_ref.runtime.server").debug("a detail")
logging.getLogger("damaris_ref.runtime.server").warning("a warning")
"""


def _stderr(level: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "DAMARIS_LOG_LEVEL"}
    if level is not None:
        env["DAMARIS_LOG_LEVEL"] = level
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_by_default_only_warnings_show_as_python_prints_them():
    assert _stderr(None) == ["a warning"]


def test_info_shows_what_started_processes_print():
    assert _stderr("info") == [
        "damaris_ref.dask_bridge.workers: INFO: a line a started worker printed",
        "damaris_ref.runtime.server: WARNING: a warning",
    ]


def test_debug_shows_everything():
    assert _stderr("DEBUG")[1] == "damaris_ref.runtime.server: DEBUG: a detail"


def test_error_hides_warnings():
    assert _stderr("error") == []
