# Keeps the global array of cube_i on the Dask scheduler for the last 3 iterations
# (global_array(..., keep=3)), for analysis from outside the simulation: the config
# keep_cube.yml keeps the workers (keep_workers: yes), and programs/analyse_kept.py reads the
# arrays, then releases them and retires the workers (docs/dask.md, "Analysis from outside
# the simulation"). Written for Damaris's exec model: main() imports what it uses.


def main(DD):
    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import global_array

    if DD["dask_env"]["dask_scheduler_file"] == "":  # no scheduler answered: nothing to keep
        return
    global_array(DD, "cube_i", getservercomm(), keep=3)  # collective: every server calls it


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
