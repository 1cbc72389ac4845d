"""Test simulation: reads its parameters, complains on stderr and exits with status 3."""

import sys

import dask_espresso as de

params = de.get_data_from_stdin()
print("starting the run", flush=True)
print(f"fatal: cannot converge with {params}", file=sys.stderr)
sys.exit(3)
