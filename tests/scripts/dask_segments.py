"""Builds the global array of ``field`` every iteration, records which of this server's
processes map this run's shared memory, and at iteration 1 leaves the way ``$DAMARIS_TEST_EXIT``
says: ``raise`` (every server's script raises), ``kill-server`` (server 1 SIGKILLs itself),
``kill-worker`` (server 1 SIGKILLs its worker), ``crash-analysis`` (server 0 runs an analysis
that ends the process of server 1's worker), anything else: nothing.

Into ``$DAMARIS_TEST_OUT/segments_S<server>_I<iteration>.json``: ``{"server": [names],
"worker": [names]}``, the shared-memory files each of the two maps. Server 0 prints
``iteration I sum X``; each server prints ``server S iteration I starts``.
"""


def main(damaris_data):
    import json
    import os
    import signal
    from pathlib import Path

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session, global_array

    def mapped(pid, run):
        """Names of the memfd files of ``run`` that process ``pid`` maps."""
        marker = f"/memfd:damaris-{run}_"
        with open(f"/proc/{pid}/maps") as maps:
            return sorted({line.split(marker, 1)[1].split()[0] for line in maps if marker in line})

    def wait_gone(pid):
        """Until process ``pid`` has ended (a zombie or no more), as its server will see it."""
        import time

        for _ in range(1000):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return
            except OSError:
                return
            time.sleep(0.01)
        raise TimeoutError(f"the worker process {pid} was still running 10 s after it ended")

    def crash(block):
        from distributed import get_worker

        if get_worker().name.endswith("_1"):
            os._exit(3)
        return block

    comm = getservercomm()
    server = comm.Get_rank()
    env, iteration = damaris_data["damaris_env"], damaris_data["iteration_data"]["iteration"]
    how = os.environ.get("DAMARIS_TEST_EXIT", "")
    session = current_session()
    scheduler_file = damaris_data["dask_env"]["dask_scheduler_file"]
    client = session.client(scheduler_file)
    print(f"server {server} iteration {iteration} starts", flush=True)
    array = global_array(damaris_data, "field", comm)
    # the worker mapped this server's slot when it was made, before global_array returned
    address = session.worker_address(scheduler_file)
    worker_pid = client.run(os.getpid, workers=[address])[address]
    run = env["simulation_name"]
    record = {"server": mapped(os.getpid(), run), "worker": mapped(worker_pid, run)}
    out = Path(os.environ["DAMARIS_TEST_OUT"])
    (out / f"segments_S{server}_I{iteration}.json").write_text(json.dumps(record))
    comm.Barrier()
    if iteration == 1:
        if how == "raise":
            raise RuntimeError("the analysis failed")
        if how == "kill-server" and server == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "kill-worker":
            if server == 1:
                os.kill(worker_pid, signal.SIGKILL)
                wait_gone(worker_pid)
            comm.Barrier()  # the killed worker is gone before server 0 sums
        if how == "crash-analysis":
            try:
                if array is not None:
                    crashing = array.map_blocks(crash, dtype=array.dtype)
                    client.compute(crashing.sum()).result(timeout=30)
            finally:
                if server == 1:
                    wait_gone(worker_pid)
                comm.Barrier()  # the crash has happened before any server goes on
    if array is not None:
        total = client.compute(array.sum()).result(timeout=60)
        print(f"iteration {iteration} sum {total}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
