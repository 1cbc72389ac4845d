"""The suite's echo simulation for ensemble ports (spec §7), run as ``python ensemble_echo.py``.

It reads its parameters with the helpers of the module named by
``DAMARIS_CONFORMANCE_ENSEMBLE_MODULE`` (default ``dask_espresso``) and answers with them plus
``processed: True``. Parameters steer the failure modes the runner must report: ``stderr``
(a line written to stderr), ``exit_code`` (exit with it, no result) and ``garbage`` (print a
line that is no encoded result).
"""

import importlib
import os
import sys

MODULE_VARIABLE = "DAMARIS_CONFORMANCE_ENSEMBLE_MODULE"


def main() -> int:
    """Echo the parameters back, or fail the way they ask."""
    helpers = importlib.import_module(os.environ.get(MODULE_VARIABLE, "dask_espresso"))
    params = helpers.get_data_from_stdin()
    if params.get("stderr"):
        print(params["stderr"], file=sys.stderr)
    if params.get("exit_code"):
        return int(params["exit_code"])
    if params.get("garbage"):
        print("this line is not an encoded result")
        return 0
    print(helpers.encode_transport_data({**params, "processed": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
