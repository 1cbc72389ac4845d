"""Run one simulation as a fresh process: parameters to stdin, result from stdout.

Standard library only, so it works inside any Dask worker and without Dask at all. The child
runs in its own session so that a timeout can kill it together with anything it started
(``pypresso`` wrappers, ``mpiexec``); its stderr goes to logging; a non-zero exit, a timeout
or a stdout without a decodable result raise a :class:`SimulationError` carrying the command,
the exit code and the tail of stderr.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from damaris_ref.ensemble.codec_protocol import Codec
from damaris_ref.ensemble.codecs import CODEC_ENV, TransportDecodeError, get_codec
from damaris_ref.ensemble.errors import (
    SimulationFailed,
    SimulationOutputError,
    SimulationTimeout,
    tail,
)
from damaris_ref.ensemble.framing import find_payload

logger = logging.getLogger(__name__)

#: how long to wait for a killed child to release its pipes before giving up on its stderr
_REAP_SECONDS = 5.0
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
        raise ValueError("executable must name a program, e.g. sys.executable or 'pypresso'")
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

    ``timeout`` (seconds) kills the process group and raises :class:`SimulationTimeout`;
    ``env`` replaces the inherited environment; ``stderr_level`` is the logging level at which
    a non-empty stderr is forwarded to this module's logger.
    """
    codec = get_codec(codec)
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    command = build_command(executable, script)
    payload = codec.encode(dict(params)).encode("ascii") + b"\n"
    child_env = dict(os.environ if env is None else env)
    child_env[CODEC_ENV] = codec.name  # the child replies in the codec we decode
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=child_env,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        stderr = _kill(process)
        raise SimulationTimeout(
            f"simulation did not finish within {timeout} s and was killed",
            command=command,
            returncode=process.returncode,
            stderr_tail=tail(stderr.decode(errors="replace")),
        ) from None
    except BaseException:  # interrupted while waiting: do not leave the child running
        _kill(process)
        raise

    stderr_text = stderr.decode(errors="replace")
    if stderr_text.strip():
        logger.log(stderr_level, "stderr of %s:\n%s", " ".join(command), stderr_text.rstrip())
    if process.returncode != 0:
        raise SimulationFailed(
            "simulation failed",
            command=command,
            returncode=process.returncode,
            stderr_tail=tail(stderr_text),
        )
    line = find_payload(stdout, codec)
    if line is None:
        raise SimulationOutputError(
            f"simulation printed no {codec.name}-codec result line "
            "(print(encode_transport_data(result)) must be its last output line); "
            f"stdout tail: {tail(stdout.decode(errors='replace'), _STDOUT_TAIL_LINES)!r}",
            command=command,
            returncode=process.returncode,
            stderr_tail=tail(stderr_text),
        )
    try:
        return codec.decode(line)
    except TransportDecodeError as exc:
        raise SimulationOutputError(
            f"simulation result could not be decoded by the {codec.name} codec: {exc}",
            command=command,
            returncode=process.returncode,
            stderr_tail=tail(stderr_text),
        ) from None


def _kill(process: subprocess.Popen[bytes]) -> bytes:
    """Kill the child's whole process group and return whatever stderr it left."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    try:
        _, stderr = process.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:  # a grandchild escaped the group and holds the pipes
        process.wait()
        stderr = b""
    return stderr or b""
