"""The demo's pyscript: print this server's sum of ``cube_i`` in the seed's format."""

import numpy as np


def main(damaris_data):
    iteration = damaris_data["iteration_data"]["iteration"]
    blocks = damaris_data["iteration_data"]["cube_i"]["numpy_data"]
    total = sum(int(a.sum(dtype=np.int64)) for a in blocks.values())
    print(f"Python iteration  {iteration} , Sum() =  {total}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - provided by the server
