"""Test simulation: step ``a`` complains on stderr, a while after the one before; step 2 then
fails with exit status 3, the others return ``a``."""

import sys
import time

import dask_espresso as de

params = de.get_data_from_stdin()
time.sleep(0.3 * params["a"])  # one after the other, so the bar is drawn between them
print(f"warning: step {params['a']} looks large", file=sys.stderr)
if params["a"] == 2:
    sys.exit(3)
print(de.encode_transport_data(params["a"]))
