"""The demo's pyscript: per-server Python sums, the global dask.array sum, one record per iteration.

Every server prints its sum of ``cube_i``; server 0 also gets the global array (built from all
servers' blocks by offsets), sums it on the Dask workers, compares with the simulation's own
total (``array_sum``) and appends a JSON record for the demo's table and plot.
"""


def main(damaris_data):
    import json
    import os

    import numpy as np

    from damaris4py.dask import damaris_dask
    from damaris4py.server import getservercomm

    iteration = damaris_dask.return_iteration(damaris_data)
    comm = getservercomm()
    blocks = damaris_data["iteration_data"]["cube_i"]["numpy_data"]
    python_sum = sum(int(a.sum(dtype=np.int64)) for a in blocks.values())
    print(f"Python iteration  {iteration} , Sum() =  {python_sum}", flush=True)
    python_sums = comm.gather(python_sum, root=0)
    cube = None
    if damaris_dask.return_scheduler_filename(damaris_data):
        cube = damaris_dask.return_dask_array(damaris_data, None, "cube_i", comm)
    if comm.Get_rank() != 0:
        return
    array_sum = damaris_dask.return_scalar_from_position(damaris_data, "array_sum")
    record = {
        "iteration": iteration,
        "client_total": int(array_sum),
        "server_sums": python_sums,
        "dask_sum": None if cube is None else int(cube.sum().compute()),
        "chunks": None if cube is None else [list(c) for c in cube.chunks],
    }
    out = os.environ["DAMARIS_DEMO_OUT"]
    if cube is not None:
        np.save(
            os.path.join(out, f"slice_{iteration}.npy"), cube[:, cube.shape[1] // 2, :].compute()
        )
    with open(os.path.join(out, "results.jsonl"), "a") as results:
        results.write(json.dumps(record) + "\n")
    print(f"Dask   iteration  {iteration} , Sum() =  {record['dask_sum']}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # type: ignore[name-defined]  # noqa: F821 - bound by the server
