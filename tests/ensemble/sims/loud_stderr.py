"""Test simulation: writes ``params["lines"]`` lines of ``params["width"]`` bytes and one last
line to stderr, then exits with ``params["exit"]``."""

import sys

import dask_espresso as de

params = de.get_data_from_stdin()
line = b"x" * (params["width"] - 1) + b"\n"
for _ in range(params["lines"]):
    sys.stderr.buffer.write(line)
sys.stderr.buffer.write(b"the last words\n")
sys.exit(params["exit"])
