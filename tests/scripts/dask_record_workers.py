"""Records what each server sees of Dask into ``$DAMARIS_TEST_OUT/workers_S<s>_I<i>.json``:
its ``dask_env`` and the scheduler's workers of this run (name -> threads).

Servers start their workers independently, so at iteration 0 another server's worker may not
be registered yet: the script waits (up to 30 s) for ``dask_nworkers`` of them.
"""


def main(damaris_data):
    import json
    import os
    import time
    from pathlib import Path

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session

    def run_workers(dask_env):
        """{name: nthreads} of the scheduler's workers named after this run ({} without Dask)."""
        scheduler_file = dask_env["dask_scheduler_file"]
        if not scheduler_file:
            return {}
        client = current_session().client(scheduler_file)
        prefix = dask_env["dask_workers_name"] + "_"
        deadline = time.monotonic() + 30
        while True:
            workers = {
                info["name"]: info["nthreads"]
                for info in client.scheduler_info(n_workers=-1)["workers"].values()
                if str(info["name"]).startswith(prefix)
            }
            if len(workers) >= dask_env["dask_nworkers"] or time.monotonic() > deadline:
                return workers
            time.sleep(0.05)

    server = getservercomm().Get_rank()
    iteration = damaris_data["iteration_data"]["iteration"]
    record = {
        "magic": damaris_data["damaris_env"]["simulation_magic_number"],
        "dask_env": damaris_data["dask_env"],
        "workers": run_workers(damaris_data["dask_env"]),
    }
    path = Path(os.environ["DAMARIS_TEST_OUT"]) / f"workers_S{server}_I{iteration}.json"
    path.write_text(json.dumps(record))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
