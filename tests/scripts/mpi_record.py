"""Dumps what one server sees in one iteration, to compare MPI runs with in-process ones.

Writes a run record (the conformance probe's format, through the probe's writer) with every
block in its ``.npz``, into the folder named by ``DAMARIS_TEST_RECORD_DIR``. Two knobs for
fault tests: ``DAMARIS_TEST_SLEEP`` (seconds to sleep first: a slow server) and
``DAMARIS_TEST_FAIL_AT`` (``"<server>:<iteration>"``: raise there instead of recording).
"""


def main(damaris_data):
    import os
    import time

    from damaris4py.server import getservercomm
    from damaris_ref.conformance import probe

    server = getservercomm().Get_rank()
    iteration = damaris_data["iteration_data"]["iteration"]
    time.sleep(float(os.environ.get("DAMARIS_TEST_SLEEP", "0")))
    if os.environ.get("DAMARIS_TEST_FAIL_AT") == f"{server}:{iteration}":
        raise RuntimeError(f"mpi_record fails on server {server} at iteration {iteration}")
    record = probe.observe(damaris_data, server=server, helpers=False)
    folder = os.environ["DAMARIS_TEST_RECORD_DIR"]
    probe.write_record(record, folder, probe.block_arrays(damaris_data))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
