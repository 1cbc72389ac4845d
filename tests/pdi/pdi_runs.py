"""Running PDI programs on the in-process engine, and a PDI session that never reaches Damaris."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from damaris_ref import pdi
from damaris_ref.runtime.in_process import run_in_process

from recorder import Recorder

RUN_TIMEOUT = 20.0


def run_pdi(
    program: Callable[[Any], Any], world_size: int, recorder: Recorder | None = None
) -> list[Any]:
    """``program(comm)`` on ``world_size`` thread-ranks, each with its own PDI session; a
    rank whose server finished returns ``"server finished"``."""

    def main(damaris: Any, comm: Any) -> Any:
        with pdi.bound(damaris):
            try:
                return program(comm)
            except pdi.ServerFinished:
                return "server finished"

    observer = recorder.observe if recorder is not None else None
    return run_in_process(main, world_size, observer=observer, timeout=RUN_TIMEOUT)


@contextlib.contextmanager
def session(spec: str | Path) -> Any:
    """A PDI session on this thread that never touches Damaris (for the data side alone)."""
    with pdi.bound(_NoDamaris()):
        pdi.init(spec)
        try:
            yield
        finally:
            with contextlib.suppress(pdi.Error):
                pdi.finalize()


class _NoDamaris:
    """A client API that refuses to be used: the tests that use it must not reach Damaris."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the test reached Damaris ({name})")
