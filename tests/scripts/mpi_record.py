"""Dumps what one server sees in one iteration, to compare MPI runs with in-process ones.

Writes ``S<server>_I<iteration>.npz`` (every block, named ``<variable>::<key>``) and then
``S<server>_I<iteration>.json`` (DamarisData keys, damaris_env, sort_lists and per-variable
sums) into the folder named by ``DAMARIS_TEST_RECORD_DIR``. Two knobs for fault tests:
``DAMARIS_TEST_SLEEP`` (seconds to sleep first: a slow server) and ``DAMARIS_TEST_FAIL_AT``
(``"<server>:<iteration>"``: raise there instead of recording).
"""


def main(damaris_data):
    import json
    import os
    import time
    from pathlib import Path

    import numpy as np

    from damaris4py.server import getservercomm

    server = getservercomm().Get_rank()
    iteration_data = damaris_data["iteration_data"]
    iteration = iteration_data["iteration"]
    time.sleep(float(os.environ.get("DAMARIS_TEST_SLEEP", "0")))
    if os.environ.get("DAMARIS_TEST_FAIL_AT") == f"{server}:{iteration}":
        raise RuntimeError(f"mpi_record fails on server {server} at iteration {iteration}")
    variables = {k: v for k, v in iteration_data.items() if k != "iteration"}
    stem = Path(os.environ["DAMARIS_TEST_RECORD_DIR"]) / f"S{server}_I{iteration}"
    np.savez(
        stem.with_suffix(".npz"),
        **{
            f"{name}::{key}": a
            for name, v in variables.items()
            for key, a in v["numpy_data"].items()
        },
    )
    facts = {
        "server": server,
        "iteration": iteration,
        "keys": list(damaris_data),
        "damaris_env": damaris_data["damaris_env"],
        "sort_lists": {name: v["sort_list"] for name, v in variables.items()},
        "sums": {
            name: float(sum(a.sum(dtype=np.float64) for a in v["numpy_data"].values()))
            for name, v in variables.items()
        },
    }
    stem.with_suffix(".json").write_text(json.dumps(facts))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
