"""Test simulation: prints chatter before and after its result, as real codes do."""

import dask_espresso as de

params = de.get_data_from_stdin()
print("ESPResSo-like banner, version 4.x")
print("step 1 of 2")
print(de.encode_transport_data({"doubled": params["x"] * 2}))
print("finished, goodbye")
