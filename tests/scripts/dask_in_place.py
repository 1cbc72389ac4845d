"""Publishes the global array of ``field`` for the last ``$DAMARIS_TEST_KEEP`` script runs
(with ``chunks=$DAMARIS_TEST_CHUNKS``) and,
at every iteration, records where each published array's chunks lie on their workers: the
name of the memory mapping that holds each chunk's first byte (``/proc/self/maps`` of the
worker), and whether the chunk's values are still the iteration's.

Into ``$DAMARIS_TEST_OUT/in_place_I<iteration>.json`` (server 0 only):
``{"<published iteration>": [[mapping, values_right], ...], ...}``.
"""


def main(damaris_data):
    import json
    import os
    from pathlib import Path

    from distributed import futures_of

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session, dataset_name, global_array
    from damaris_ref.mocks.generic import expected_global

    def where(chunk):
        """The mapping that holds ``chunk``'s first byte in this worker process."""
        address = chunk.__array_interface__["data"][0]
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                low, high = (int(value, 16) for value in fields[0].split("-"))
                if low <= address < high:
                    return fields[5] if len(fields) > 5 else "[anonymous]"
        return "[unmapped]"

    keep = int(os.environ["DAMARIS_TEST_KEEP"])
    comm = getservercomm()
    iteration = damaris_data["iteration_data"]["iteration"]
    chunks = os.environ["DAMARIS_TEST_CHUNKS"]
    array = global_array(damaris_data, "field", comm, keep=keep, chunks=chunks)
    comm.Barrier()  # every server's blocks of this iteration are written and held
    if array is None:
        return
    client = current_session().client(damaris_data["dask_env"]["dask_scheduler_file"])
    env = damaris_data["damaris_env"]
    run = (env["simulation_name"], env["simulation_magic_number"], "field")
    record = {}
    for published in range(max(0, iteration - keep + 1), iteration + 1):
        dataset = client.get_dataset(dataset_name(*run, published))
        expected = expected_global(dataset.dtype, dataset.shape, published)
        chunks = []
        for future in futures_of(dataset):
            index = future.key[1:]
            box = tuple(
                slice(sum(sizes[:i]), sum(sizes[: i + 1]))
                for sizes, i in zip(dataset.chunks, index, strict=True)
            )
            mapping = client.submit(where, future, pure=False).result(timeout=30)
            right = bool((client.gather(future) == expected[box]).all())
            chunks.append([mapping, right])
        record[str(published)] = chunks
    out = Path(os.environ["DAMARIS_TEST_OUT"])
    (out / f"in_place_I{iteration}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
