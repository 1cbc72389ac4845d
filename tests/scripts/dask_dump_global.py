"""Builds the global array of every variable routed here; records it and where its blocks live.

Into ``$DAMARIS_TEST_OUT``: each server writes ``placement_S<server>_I<iteration>.json`` (for
every block it received, the names of the workers holding that block's key, read before
anything is computed), and server 0 writes ``<variable>_I<iteration>.npy`` (the computed
array) and ``<variable>_I<iteration>.json`` (the dask sum, dtype and chunks).
"""


def main(damaris_data):
    import json
    import os
    from pathlib import Path

    import numpy as np

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import block_key_name, current_session, global_array

    def holders(damaris_data, variable):
        """{block key in DamarisData: names of the workers holding its Dask key}."""
        env = damaris_data["damaris_env"]
        iteration = damaris_data["iteration_data"]["iteration"]
        client = current_session().client(damaris_data["dask_env"]["dask_scheduler_file"])
        names = {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        who_has = client.who_has()
        found = {}
        for key in damaris_data["iteration_data"][variable]["numpy_data"]:
            source, block = (int(part[1:]) for part in key.split("_"))
            dask_key = block_key_name(
                env["simulation_name"],
                env["simulation_magic_number"],
                variable,
                iteration,
                source,
                block,
            )
            found[key] = sorted(names.get(a, a) for a in who_has.get(dask_key, ()))
        return found

    out = Path(os.environ["DAMARIS_TEST_OUT"])
    comm = getservercomm()
    server = comm.Get_rank()
    iteration = damaris_data["iteration_data"]["iteration"]
    variables = sorted(k for k in damaris_data["iteration_data"] if k != "iteration")
    arrays = {v: global_array(damaris_data, v, comm) for v in variables}
    placement = {v: holders(damaris_data, v) for v in variables}
    record = {"magic": damaris_data["damaris_env"]["simulation_magic_number"], **placement}
    (out / f"placement_S{server}_I{iteration}.json").write_text(json.dumps(record))
    comm.Barrier()  # computing may copy blocks between workers: placement is read before
    if server != 0:
        return
    for variable, array in arrays.items():
        np.save(out / f"{variable}_I{iteration}.npy", array.compute())
        summary = {
            "sum": array.sum().compute().item(),
            "dtype": array.dtype.str,
            "chunks": [list(c) for c in array.chunks],
        }
        (out / f"{variable}_I{iteration}.json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
