# The third seed example's pyscript: running statistics of cube_d shared by many simulations.
#
# Every server calls return_dask_array (collective over the server communicator); server 0
# gets the global array and adds it, as one more sample of every element, to the statistics
# that every simulation using the same dataset and lock names updates on the one scheduler.
# Written for Damaris's exec model: everything main() uses is imported inside main().


def main(DD):
    from dask.distributed import Client

    from damaris4py.dask import damaris_dask, damaris_stats
    from damaris4py.server import getservercomm

    iteration = damaris_dask.return_iteration(DD)
    scheduler_file = damaris_dask.return_scheduler_filename(DD)
    if scheduler_file == "":
        if iteration == 0:
            print("Python INFO: no Dask scheduler answered; no statistics kept", flush=True)
        return
    server_comm = getservercomm()
    # upstream waits 2 s; on a loaded machine one server's connection can take longer, and a
    # server that fails here skips return_dask_array, which ends the whole job
    client = Client(scheduler_file=scheduler_file, timeout="30s")
    try:
        cube = damaris_dask.return_dask_array(DD, client, "cube_d", server_comm)
        if cube is not None:  # only server 0 gets the array
            # any simulation using these two names adds to the same statistics
            stats = damaris_stats.DaskStats("dask_client_published_str", "dask_lock_str")
            count = stats.update(cube, client, lock_timeout=60)
            print("Python iteration ", iteration, " statistics updated, count ", count, flush=True)
        server_comm.Barrier()
    finally:
        client.close()


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
