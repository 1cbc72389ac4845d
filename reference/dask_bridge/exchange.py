"""The two steps of a global array call that involve every server: each server's part to
server 0, and server 0's answer back, with no server spinning and server 0 waiting for nobody
who is already there.

MPI's blocking collectives spin while they wait, which would take a core from the Dask
workers; a barrier that sleeps between checks makes whoever finishes last wait for the sleep
of the others. So, under MPI, every server sends its part to server 0 as it comes (a part
that is already there costs server 0 nothing), server 0 sends its answer and goes on, and
only the servers that wait sleep between their checks. The messages travel on a duplicate of
the server communicator, so that no message of a script can be taken for one of them. The
in-process engine's communicator, whose waits already sleep, uses its own collectives.
"""

from __future__ import annotations

from typing import Any

from damaris_ref.core.errors import DaskError
from damaris_ref.core.polling import MPI_WAIT_FIRST, MPI_WAIT_MOST, poll_until

TAG_PART = 1
TAG_ANSWER = 2


class ServersGone(DaskError, TimeoutError):
    """Some servers did not take their part in time.

    A class of its own because ``global_array`` catches it to end the job: no later call of
    the servers can match."""


class Exchange:
    """Gather to server 0, then its answer to every server, over ``comm`` (collective: every
    server builds one, in the same call)."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        # mpi4py's communicators have improbe; the in-process engine's do not
        self.private = comm.Dup() if hasattr(comm, "improbe") else None
        self._sending: list[Any] = []  # sends not known to be complete yet

    def gather(self, part: object, timeout: float) -> list[Any] | None:
        """Every server's ``part`` in rank order on server 0, None elsewhere. ServersGone if
        server 0 waited ``timeout`` s for some."""
        if self.private is None:
            return self.comm.gather(part, root=0)
        private = self.private
        self._complete_sends()
        if self.rank != 0:
            self._sending.append(private.isend(part, 0, TAG_PART))
            return None
        parts: dict[int, Any] = {0: part}

        def all_arrived() -> bool:
            for rank in range(1, self.size):
                if rank not in parts:
                    message = private.improbe(rank, TAG_PART)
                    if message is not None:
                        parts[rank] = message.recv()
            return len(parts) == self.size

        if not poll_until(all_arrived, timeout, MPI_WAIT_FIRST, MPI_WAIT_MOST):
            missing = sorted(set(range(self.size)) - set(parts))
            raise ServersGone(f"servers {missing} did not come within {timeout:g} s")
        return [parts[rank] for rank in range(self.size)]

    def answer(self, value: object, timeout: float) -> Any:
        """Server 0's ``value`` on every server (server 0 does not wait for the others to
        take it). ServersGone if a server waited ``timeout`` s for it."""
        private = self.private
        if private is None:
            return self.comm.bcast(value, root=0)
        if self.rank == 0:
            self._sending += [
                private.isend(value, rank, TAG_ANSWER) for rank in range(1, self.size)
            ]
            return value
        found: list[Any] = []

        def arrived() -> bool:
            message = private.improbe(0, TAG_ANSWER)
            if message is not None:
                found.append(message.recv())
            return bool(found)

        if not poll_until(arrived, timeout, MPI_WAIT_FIRST, MPI_WAIT_MOST):
            raise ServersGone(f"server 0 did not answer within {timeout:g} s")
        self._complete_sends()  # server 0 has our part: its send is complete
        return found[0]

    def _complete_sends(self) -> None:
        """Wait for the sends of the last call (received by then: the call is over)."""
        for request in self._sending:
            request.wait()
        self._sending = []

    def close(self) -> None:
        """Complete the last sends and free the duplicate communicator."""
        self._complete_sends()
        if self.private is not None:
            self.private.Free()
            self.private = None
