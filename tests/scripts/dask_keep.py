"""Keeps the global array of ``field`` on the scheduler for the last 3 script runs
(``global_array(..., keep=3)``), for clients that analyse it from outside the simulation."""


def main(damaris_data):
    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import global_array

    global_array(damaris_data, "field", getservercomm(), keep=3)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
