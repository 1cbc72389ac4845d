"""Test simulation: logs a warning on stderr and returns normally."""

import sys

import dask_espresso as de

de.get_data_from_stdin()
print("warning: time step looks large", file=sys.stderr)
print(de.encode_transport_data("ok"))
