# Seed example 2: the global dask.array of cube_i, its sum checked against array_sum.
#
# Every server calls return_dask_array (collective over the server communicator); server 0
# gets the array assembled from every server's blocks by their offsets and compares its sum
# with array_sum, the total client 0 computed, printing PASS or FAIL for the iteration.
# Written for Damaris's exec model: everything main() uses is imported inside main().


def main(DD):
    from dask.distributed import Client

    from damaris4py.dask import damaris_dask
    from damaris4py.server import getservercomm, listknownclients

    iteration = damaris_dask.return_iteration(DD)
    server_comm = getservercomm()
    owned = listknownclients()
    last_iter = damaris_dask.return_numpy_array(DD, "last_iter", client_rank=owned[0])
    if iteration == 0 and last_iter is not None:
        print("Python iteration ", iteration, " Data found: last_iter = ", last_iter[0])
    scheduler_file = damaris_dask.return_scheduler_filename(DD)
    if scheduler_file == "":
        if iteration == 0:
            print("Python INFO: no Dask scheduler answered; nothing to check", flush=True)
        return
    # array_sum of client 0 (the others hold 0.0); only server 0 owns client 0 here
    array_sum = damaris_dask.return_scalar_from_position(DD, "array_sum", pos=0)
    client = Client(scheduler_file=scheduler_file, timeout="2s")
    try:
        cube = damaris_dask.return_dask_array(DD, client, "cube_i", server_comm)
        if cube is not None:  # only server 0 gets the array
            dask_sum = cube.sum().compute()
            print("Python iteration ", iteration, " dask x.sum() := ", dask_sum)
            print("PASS" if dask_sum == array_sum else "FAIL", flush=True)
        server_comm.Barrier()
    finally:
        client.close()


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
