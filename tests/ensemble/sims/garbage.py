"""Test simulation: exits normally but prints no encoded result."""

import dask_espresso as de

de.get_data_from_stdin()
print("result: 42")
print("bye")
