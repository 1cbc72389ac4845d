"""Seed Example 2: the global dask.array of cube_i, its sum checked against the simulation's.

Every server calls ``return_dask_array`` (collective over the server communicator); server 0
gets the array assembled from all servers' blocks by offsets and compares its sum with
``array_sum``, the total client 0 computed, printing PASS or FAIL for the iteration.
"""

from dask.distributed import default_client

from damaris4py.dask import damaris_dask
from damaris4py.server import getservercomm


def main(DD):
    iteration = damaris_dask.return_iteration(DD)
    if damaris_dask.return_scheduler_filename(DD) == "":
        print(f"Dask iteration {iteration} : no scheduler, nothing to check", flush=True)
        return
    # the server's own client; upstream scripts' Client(scheduler_file=...) works too
    client = default_client()
    cube = damaris_dask.return_dask_array(DD, client, "cube_i", getservercomm())
    if cube is None:  # only server 0 gets the array
        return
    dask_sum = int(cube.sum().compute())
    array_sum = int(damaris_dask.return_scalar_from_position(DD, "array_sum", pos=0))
    verdict = "PASS" if dask_sum == array_sum else "FAIL"
    print(
        f"Dask iteration  {iteration} , Sum() = {dask_sum} , array_sum = {array_sum} : {verdict}",
        flush=True,
    )


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - provided by the server
