"""Run one simulation as a fresh process: parameters to stdin, result from stdout.

No Dask here, so it works inside any Dask worker and without Dask at all. The child is started
through :mod:`damaris_ref.launch.processes`: a timeout kills it together with everything it started
(``pypresso`` wrappers, ``mpiexec``, grandchildren in sessions of their own), and so does the
death of this process. Its stderr is streamed to logging line by line, up to a cap, and only
its tail is kept; a non-zero exit, a timeout or a stdout without a decodable result raise a
:class:`SimulationError` carrying the command, the exit code and that tail.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from damaris_ref.core.errors import UsageError
from damaris_ref.ensemble.codec_protocol import Codec
from damaris_ref.ensemble.codecs import CODEC_ENV, TransportDecodeError, get_codec
from damaris_ref.ensemble.errors import SimulationError, tail
from damaris_ref.ensemble.framing import find_payload
from damaris_ref.ensemble.timeouts import resolve_timeout
from damaris_ref.launch import processes

logger = logging.getLogger(__name__)

#: how many lines of stdout an "undecodable output" error quotes
_STDOUT_TAIL_LINES = 5

Executable = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def build_command(executable: Executable, script: str | os.PathLike[str]) -> list[str]:
    """``[executable..., script]``: a string is one program path, a sequence a full prefix."""
    if isinstance(executable, str | os.PathLike):
        prefix = [os.fspath(executable)]
    else:
        prefix = [os.fspath(part) for part in executable]
    if not prefix or not prefix[0]:
        raise UsageError("executable must name a program, e.g. sys.executable or 'pypresso'")
    return [*prefix, os.fspath(script)]


def run_simulation(
    executable: Executable,
    script: str | os.PathLike[str],
    params: Mapping[str, Any],
    *,
    codec: str | Codec | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stderr_level: int = logging.WARNING,
) -> Any:
    """Run ``executable script`` with ``params`` on stdin and return the decoded result.

    ``timeout`` (seconds; None: the default of :mod:`~damaris_ref.ensemble.timeouts`, no limit
    unless ``$DAMARIS_ENSEMBLE_TIMEOUT`` sets one; ``math.inf``: none) kills the child's whole tree
    and raises a :class:`~damaris_ref.ensemble.errors.SimulationError` of ``kind`` ``"timeout"``;
    ``env`` replaces the inherited environment; each line of stderr is logged at ``stderr_level`` on
    this module's logger, up to :data:`damaris_ref.launch.process_output.LOG_LINES` lines.
    """
    codec = get_codec(codec)
    limit = resolve_timeout(timeout)
    command = build_command(executable, script)
    payload = codec.encode(dict(params)).encode("ascii") + b"\n"
    child_env = dict(os.environ if env is None else env)
    child_env[CODEC_ENV] = codec.name  # the child replies in the codec we decode
    child = processes.start(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr="log",
        log=processes.OutputLog(logger, stderr_level),
        label=os.fspath(script),
        cwd=cwd,
        env=child_env,
    )
    try:
        stdout, _ = child.popen.communicate(payload, None if math.isinf(limit) else limit)
    except subprocess.TimeoutExpired:
        child.stop(signal.SIGKILL, 0)
        raise SimulationError(
            f"simulation did not finish within {limit:g} s and was killed",
            kind="timeout",
            command=command,
            returncode=child.returncode,
            stderr_tail=child.output_tail(),
        ) from None
    except BaseException:  # interrupted while waiting: do not leave the child running
        child.stop(signal.SIGKILL, 0)
        raise

    child.wait()  # ended already: this removes the shared memory it may have left
    child.drain()
    stderr_tail = child.output_tail()
    if child.returncode != 0:
        raise SimulationError(
            "simulation failed",
            kind="failed",
            command=command,
            returncode=child.returncode,
            stderr_tail=stderr_tail,
        )
    line = find_payload(stdout, codec)
    if line is None:
        raise SimulationError(
            f"simulation printed no {codec.name}-codec result line "
            "(print(encode_transport_data(result)) must be its last output line); "
            f"stdout tail: {tail(stdout.decode(errors='replace'), _STDOUT_TAIL_LINES)!r}",
            kind="output",
            command=command,
            returncode=child.returncode,
            stderr_tail=stderr_tail,
        )
    try:
        return codec.decode(line)
    except TransportDecodeError as exc:
        raise SimulationError(
            f"simulation result could not be decoded by the {codec.name} codec: {exc}",
            kind="output",
            command=command,
            returncode=child.returncode,
            stderr_tail=stderr_tail,
        ) from None
