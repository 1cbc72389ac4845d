"""Seed Example 1: print each block's sum and this server's sum of ``cube_i``.

Runs on every server each iteration; the per-server sums add up to the simulation's
``C++ ... Sum ()`` total. Blocks are listed by source and block number (not arrival order).
"""

import numpy as np


def main(DD):
    iteration = DD["iteration_data"]["iteration"]
    cube = DD["iteration_data"].get("cube_i")
    if cube is None:
        return
    server_sum = 0
    for key, array in cube["numpy_data"].items():
        block_sum = int(array.sum(dtype=np.int64))
        print(f"Python iteration  {iteration} , Data found: cube_i[ {key} ].sum() =  {block_sum}")
        server_sum += block_sum
    print(f"Python iteration  {iteration} , Sum() =  {server_sum}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - provided by the server when it executes this file
