"""``damaris4py.client`` (spec §4): a simulation written in Python sets Damaris up with
``damaris_initialize(config, comm)`` and asks the same questions a server's script does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFIG = """\
damaris:
  simulation_name: client_check
  architecture: {domains: 1}
  parameters: {N: {type: int, value: 4}}
  layouts: {row: {type: int, dimensions: "N"}}
  variables: {field: {layout: row}}
"""

#: one MPI process (singleton start, no mpiexec), standalone: client and server at once
PROGRAM = """\
import sys
from mpi4py import MPI
from damaris4py import client
from damaris_ref.runtime import damaris
code = client.damaris_initialize(sys.argv[1], MPI.COMM_WORLD)
print(code, client.isclient(), client.isserver(), client.isdedicatedcore())
print(client.getclientcomm().Get_size(), client.listknownclients(), client.numberofnodes())
print(client.magicnumber_string().isdigit())
assert damaris.start()
damaris.stop()
damaris.finalize()
"""


def run(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_damaris_initialize_returns_damaris_ok_and_the_queries_answer(tmp_path):
    config = tmp_path / "client.yml"
    config.write_text(CONFIG)
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["0 True True False", "1 [0] 1", "True"]


def test_a_bad_configuration_is_an_error_naming_the_file(tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text(CONFIG.replace("domains: 1", "domain: 1"))
    done = run(config)
    assert done.returncode != 0
    assert "bad.yml" in done.stderr and "domain" in done.stderr
