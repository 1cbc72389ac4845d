"""Server 0 writes the sum of the global array of ``field`` into
``$DAMARIS_TEST_OUT/sum_I<iteration>.json``."""


def main(damaris_data):
    import json
    import os
    from pathlib import Path

    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import global_array

    array = global_array(damaris_data, "field", getservercomm())
    if array is not None:
        iteration = damaris_data["iteration_data"]["iteration"]
        path = Path(os.environ["DAMARIS_TEST_OUT"]) / f"sum_I{iteration}.json"
        path.write_text(json.dumps({"sum": int(array.sum().compute())}))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
