"""Read a Dask scheduler file and connect to the scheduler it names, within one deadline.

A scheduler file is whatever a user points at: it may hold anything, and anything may listen
at the address it gives. ``distributed`` trusts both (a file that is not JSON fails an
``assert``, a service that speaks first makes it allocate exabytes, one that accepts and never
answers makes it wait for ever), so the reference reads the file itself and asks the address
who it is, bounded by the caller's timeout, before it lets ``distributed`` connect. Every way
this can fail ends in :class:`SchedulerUnusable`, whose message says what was wrong in one line:
servers turn it into their one warning, the commands into their one error line.
"""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from damaris_ref.core.errors import DaskError
from damaris_ref.core.file_kinds import file_kind

if TYPE_CHECKING:
    from distributed import Client

#: bytes of a scheduler file read at most; ``dask scheduler`` writes well under 4 KiB
MAX_FILE_BYTES = 1 << 20
#: seconds the commands (``demo``, ``stats``) give the scheduler of ``--scheduler-file``
COMMAND_TIMEOUT = 10.0


class SchedulerUnusable(DaskError):
    """A scheduler file that cannot be read, or no Dask scheduler answering at its address.

    A class of its own because its callers go on without Dask (with a warning) or refuse to
    start, where other Dask errors end the run."""


def read_address(path: Path) -> str:
    """The ``address`` a scheduler file gives, checked to be a non-empty string.

    Raises :class:`SchedulerUnusable` naming the file and what is wrong with it.
    """
    where = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SchedulerUnusable(f"scheduler file {where!r} does not exist") from None
    except OSError as error:
        raise SchedulerUnusable(f"cannot read scheduler file {where!r}: {error.strerror}") from None
    if not stat.S_ISREG(mode):  # a FIFO would block the read, a device never end it
        raise SchedulerUnusable(f"scheduler file {where!r} is {file_kind(mode)}, not a file")
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise SchedulerUnusable(f"cannot read scheduler file {where!r}: {error.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SchedulerUnusable(
            f"scheduler file {where!r} is larger than {MAX_FILE_BYTES} bytes; "
            "a scheduler writes a small JSON object"
        )
    try:
        content = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SchedulerUnusable(f"scheduler file {where!r} is not JSON ({error})") from None
    address = content.get("address") if isinstance(content, dict) else None
    if not isinstance(address, str) or not address:
        raise SchedulerUnusable(
            f'scheduler file {where!r} has no "address" string '
            '(expected a JSON object such as {"address": "tcp://127.0.0.1:8786", ...})'
        )
    return address


async def _identity(address: str, timeout: float) -> object:
    """What the service at ``address`` says when asked who it is, as a Dask scheduler would."""
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def _refuse_closed_port(address: str, host: str, port: int, timeout: float) -> None:
    """Fail at once where nothing listens: ``distributed`` would retry a refused connection
    until the whole timeout had passed."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        raise SchedulerUnusable(f"nothing listens at {address}") from None
    except OSError:  # unreachable or slow: the full check below says so within the timeout
        pass


def check_scheduler(address: str, timeout: float) -> None:
    """Raise :class:`SchedulerUnusable` unless a Dask scheduler at ``address`` answers within
    ``timeout`` seconds, whatever else listens there."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
    except ValueError as error:
        raise SchedulerUnusable(f"{address!r} is not a Dask address ({error})") from None
    if scheme == "tcp":
        _refuse_closed_port(address, *parse_host_port(location), timeout)
    try:
        reply = asyncio.run(asyncio.wait_for(_identity(address, timeout), timeout))
    except (OSError, TimeoutError) as error:
        detail = f" ({' '.join(str(error).split())})" if str(error) else ""
        raise SchedulerUnusable(
            f"no scheduler answered within {timeout:g} s at {address}{detail}"
        ) from None
    except Exception as error:  # anything may listen there, and send anything
        raise SchedulerUnusable(
            f"the service at {address} is not a Dask scheduler (its answer could not be "
            f"read: {type(error).__name__})"
        ) from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise SchedulerUnusable(f"the service at {address} is not a Dask scheduler")


def check_file(path: Path, timeout: float) -> str:
    """The address of the scheduler that ``path`` names, once it has answered within
    ``timeout`` seconds; :class:`SchedulerUnusable` otherwise."""
    address = read_address(path)
    try:
        check_scheduler(address, timeout)
    except SchedulerUnusable as why:
        raise SchedulerUnusable(f"scheduler file {str(path)!r}: {why}") from None
    return address


def connect_within(path: Path, timeout: float) -> Client:
    """A client (not the process's default one) of the scheduler that ``path`` names.

    The file is read, the scheduler asked who it is, and the client connected within
    ``timeout`` seconds in all; :class:`SchedulerUnusable` otherwise.
    """
    started = time.monotonic()
    address = check_file(path, timeout)
    from distributed import Client  # only once a scheduler answered: a run without one never pays

    left = max(timeout - (time.monotonic() - started), 0.1)
    try:
        return Client(address, timeout=left, set_as_default=False)
    except Exception as error:
        raise SchedulerUnusable(
            f"could not connect to the scheduler at {address} within {timeout:g} s "
            f"({type(error).__name__}: {' '.join(str(error).split())[:200]})"
        ) from None
