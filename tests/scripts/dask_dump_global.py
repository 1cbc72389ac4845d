"""Builds the global array of every variable routed here; records it and where its blocks live.

Into ``$DAMARIS_TEST_OUT``: each server writes ``placement_S<server>_I<iteration>.json`` (per
variable, the boxes ``[offsets, shape]`` of the blocks it received), and server 0 writes
``<variable>_I<iteration>.npy`` (the computed array), ``<variable>_I<iteration>.json`` (the
dask sum, dtype, chunks and the number of tasks in the array's graph) and
``chunks_I<iteration>.json`` (per variable, for each chunk once persisted: its box and the
workers holding it), read before anything else is computed.
"""


def main(damaris_data):
    import itertools
    import json
    import os
    from pathlib import Path

    import numpy as np
    from dask.core import flatten
    from distributed import wait

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session, global_array

    client = current_session().client(damaris_data["dask_env"]["dask_scheduler_file"])

    def worker_names():
        return {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}

    def received(variable):
        """The boxes of the blocks of ``variable`` this server received."""
        entry = damaris_data["iteration_data"][variable]
        return [
            [list(offsets), list(entry["numpy_data"][key].shape)]
            for _tag, key, offsets in entry["sort_list"]
        ]

    def chunk_placement(array):
        """[box of the chunk, workers holding it once persisted] per chunk."""
        kept = array.persist()
        wait(kept, timeout=30)
        names = worker_names()
        who_has = client.who_has(kept)
        starts = [list(itertools.accumulate(sizes, initial=0)) for sizes in array.chunks]
        placed = []
        for key in flatten(kept.__dask_keys__()):
            cell = key[1:]
            origin = [starts[axis][i] for axis, i in enumerate(cell)]
            shape = [array.chunks[axis][i] for axis, i in enumerate(cell)]
            placed.append([[origin, shape], sorted(names[a] for a in who_has[key])])
        return placed

    out = Path(os.environ["DAMARIS_TEST_OUT"])
    comm = getservercomm()
    server = comm.Get_rank()
    iteration = damaris_data["iteration_data"]["iteration"]
    variables = sorted(k for k in damaris_data["iteration_data"] if k != "iteration")
    arrays = {v: global_array(damaris_data, v, comm) for v in variables}
    placement = {v: received(v) for v in variables}
    record = {"magic": damaris_data["damaris_env"]["simulation_magic_number"], **placement}
    (out / f"placement_S{server}_I{iteration}.json").write_text(json.dumps(record))
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
