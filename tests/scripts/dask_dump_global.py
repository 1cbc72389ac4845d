"""Builds the global array of every variable routed here; records it and where its blocks live.

Into ``$DAMARIS_TEST_OUT``: each server writes ``placement_S<server>_I<iteration>.json`` (per
variable, how many blocks it received and the names of the workers holding the key they were
delivered under, read before anything is computed), and server 0 writes
``<variable>_I<iteration>.npy`` (the computed array), ``<variable>_I<iteration>.json`` (the
dask sum, dtype, chunks and the number of tasks in the array's graph) and
``chunks_I<iteration>.json`` (per variable, for each chunk once persisted: the key it reads and
the workers holding the chunk).
"""


def main(damaris_data):
    import json
    import os
    from pathlib import Path

    import numpy as np
    from dask.core import flatten
    from distributed import Future, wait

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session, global_array, segment_key

    client = current_session().client(damaris_data["dask_env"]["dask_scheduler_file"])

    def worker_names():
        return {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}

    def holders(damaris_data, variable, server):
        """How many blocks this server received, and who holds the key they were delivered
        under."""
        env = damaris_data["damaris_env"]
        iteration = damaris_data["iteration_data"]["iteration"]
        key = segment_key(
            env["simulation_name"], env["simulation_magic_number"], variable, iteration, server
        )
        delivered = Future(key, client)
        wait(delivered, timeout=30)  # the server delivered it; its worker may still be mapping
        names = worker_names()
        return {
            "blocks": len(damaris_data["iteration_data"][variable]["numpy_data"]),
            "holders": sorted(names.get(a, a) for a in client.who_has([delivered]).get(key, ())),
        }

    def chunk_placement(array):
        """[chunk key, keys its task reads, workers holding it once persisted] per chunk."""
        graph = dict(array.__dask_graph__())
        kept = array.persist()
        wait(kept, timeout=30)
        names = worker_names()
        who_has = client.who_has(kept)
        return [
            [
                str(key),
                sorted(str(arg.key) for arg in graph[key][1:] if isinstance(arg, Future)),
                sorted(names[a] for a in who_has[key]),
            ]
            for key in flatten(kept.__dask_keys__())
        ]

    out = Path(os.environ["DAMARIS_TEST_OUT"])
    comm = getservercomm()
    server = comm.Get_rank()
    iteration = damaris_data["iteration_data"]["iteration"]
    variables = sorted(k for k in damaris_data["iteration_data"] if k != "iteration")
    arrays = {v: global_array(damaris_data, v, comm) for v in variables}
    placement = {v: holders(damaris_data, v, server) for v in variables}
    record = {"magic": damaris_data["damaris_env"]["simulation_magic_number"], **placement}
    (out / f"placement_S{server}_I{iteration}.json").write_text(json.dumps(record))
    comm.Barrier()  # computing may copy blocks between workers: placement is read before
    if server != 0:
        return
    chunks = {v: chunk_placement(a) for v, a in arrays.items()}
    (out / f"chunks_I{iteration}.json").write_text(json.dumps(chunks))
    for variable, array in arrays.items():
        np.save(out / f"{variable}_I{iteration}.npy", array.compute())
        summary = {
            "sum": array.sum().compute().item(),
            "dtype": array.dtype.str,
            "chunks": [list(c) for c in array.chunks],
            "tasks": len(array.__dask_graph__()),
        }
        (out / f"{variable}_I{iteration}.json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
