"""Sums 0..9 with dask.array on the current client; writes ``sum_S<server>_I<iteration>.json``
(the total) into ``$DAMARIS_TEST_OUT``."""


def main(damaris_data):
    import json
    import os
    from pathlib import Path

    import dask.array as da
    import numpy as np

    from damaris4py.server import getservercomm

    total = int(da.from_array(np.arange(10), chunks=5).sum().compute())
    server = getservercomm().Get_rank()
    iteration = damaris_data["iteration_data"]["iteration"]
    out = Path(os.environ["DAMARIS_TEST_OUT"]) / f"sum_S{server}_I{iteration}.json"
    out.write_text(json.dumps({"total": total}))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
