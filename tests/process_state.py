"""What no library call may leave changed in the process, as one comparable snapshot."""

from __future__ import annotations

import gc
import sys
import threading

import dask
import distributed


def default_dask_client() -> object:
    """The process's default Dask client, None when there is none."""
    try:
        return distributed.default_client()
    except ValueError:
        return None


def process_state() -> dict[str, object]:
    """Streams, both exception hooks, ``sys.path``, Dask's defaults, ``__main__`` and the
    garbage collector's frozen objects (a server freezes some while it runs)."""
    return {
        "stdout": sys.stdout,
        "stderr": sys.stderr,
        "excepthook": sys.excepthook,
        "threading.excepthook": threading.excepthook,
        "sys.path": list(sys.path),
        "default Dask client": default_dask_client(),
        "dask scheduler": dask.config.get("scheduler", None),
        "__main__": dict(vars(sys.modules["__main__"])),
        "frozen objects": gc.get_freeze_count(),
    }


def while_running(state: dict[str, object]) -> dict[str, object]:
    """``state`` without what a server changes on purpose while it runs (the objects it froze
    after its first collection, see ``damaris_ref.runtime.scripts.garbage``), to compare mid-run."""
    return {key: value for key, value in state.items() if key != "frozen objects"}
