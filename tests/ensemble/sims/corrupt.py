"""Test simulation: prints a line that starts like a pickle payload but is cut short."""

import dask_espresso as de

encoded = de.encode_transport_data({"answer": 42})
print(encoded[: len(encoded) // 2])
