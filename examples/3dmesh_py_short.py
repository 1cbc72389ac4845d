# Seed example 1: each server prints the sum of every cube_i block it owns, then its total.
#
# The per-server totals add up to the simulation's "C++ ... Sum ()" line. The file is run the
# way Damaris runs a pyscript: executed (not imported) on every server at every iteration,
# with DamarisData visible at the top level only. Names bound at the top level (imports,
# functions, constants) are NOT visible inside main(), so main() imports what it uses and
# receives DamarisData as its argument. `damaris-ref check-script` checks a script for this.


def main(DD):
    import numpy as np

    iteration_data = DD["iteration_data"]
    iteration = iteration_data["iteration"]
    cube_i = iteration_data.get("cube_i")
    if cube_i is None:  # this server owns no client this iteration
        return
    server_sum = 0
    for key in sorted(cube_i["numpy_data"]):  # sorted: arrival order varies between runs
        block_sum = int(cube_i["numpy_data"][key].sum(dtype=np.int64))
        # one string per line: ranks share the launcher's stdout, and pieces would interleave
        print(f"Python iteration  {iteration} , Data found: cube_i[ {key} ].sum() =  {block_sum}")
        server_sum += block_sum
    print(f"Python iteration  {iteration} , Sum() =  {server_sum}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
