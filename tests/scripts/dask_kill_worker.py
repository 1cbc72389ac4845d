"""At iteration 1, server 1 kills its own Dask worker; every iteration sums the global array.

Each server prints ``server S iteration I starts``; server 0 prints ``iteration I sum X``.
The servers meet first, so the kill never races server 0 still computing iteration 0.
"""


def main(damaris_data):
    import os
    import signal

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session, global_array

    def kill_own_worker(scheduler_file):
        session = current_session()
        address = session.worker_address(scheduler_file)
        pid = session.client(scheduler_file).run(os.getpid, workers=[address])[address]
        os.kill(pid, signal.SIGKILL)

    comm = getservercomm()
    iteration = damaris_data["iteration_data"]["iteration"]
    print(f"server {comm.Get_rank()} iteration {iteration} starts", flush=True)
    comm.Barrier()
    if iteration == 1 and comm.Get_rank() == 1:
        kill_own_worker(damaris_data["dask_env"]["dask_scheduler_file"])
    array = global_array(damaris_data, "field", comm)
    if array is not None:
        print(f"iteration {iteration} sum {array.sum().compute()}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
