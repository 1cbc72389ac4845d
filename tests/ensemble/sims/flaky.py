"""Test simulation: fails on its first run, succeeds once ``params["flag"]`` exists."""

import os
import sys

import dask_espresso as de

params = de.get_data_from_stdin()
if not os.path.exists(params["flag"]):
    open(params["flag"], "w").close()
    sys.exit("first attempt fails on purpose")
print(de.encode_transport_data({"attempt": "second"}))
