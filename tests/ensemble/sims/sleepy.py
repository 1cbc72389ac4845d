"""Test simulation: starts a grandchild (in a session of its own if ``params["own_session"]``),
records both pids in ``params["pid_file"]``, hangs."""

import os
import subprocess
import sys
import time

import dask_espresso as de

params = de.get_data_from_stdin()
grandchild = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"],
    start_new_session=params.get("own_session", False),
)
with open(params["pid_file"], "w") as out:
    out.write(f"{os.getpid()} {grandchild.pid}\n")
print("about to hang", file=sys.stderr, flush=True)
time.sleep(120)
