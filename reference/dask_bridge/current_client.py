"""A client made current for one context only, and waiting for futures through it.

Kept apart from the session so that the shared-memory slots can wait for their tasks the same
way without importing the session. ``distributed`` is imported only when a function runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client, Future


@contextlib.contextmanager
def current_in_this_context(client: Client) -> Iterator[None]:
    """Make ``client`` the current one for this thread's context only.

    ``Client.as_current`` also sets ``dask.config``'s process-wide ``scheduler``; server threads
    of the in-process engine entering and leaving it concurrently restore it out of order and
    leave it set. Dask finds the current client through this context variable alone.
    """
    import distributed.client

    variable = getattr(distributed.client, "_current_client", None)
    if variable is None:  # a distributed without it: its public, process-wide form
        with client.as_current():
            yield
        return
    token = variable.set(client)
    try:
        yield
    finally:
        variable.reset(token)


def wait_done(client: Client, futures: Sequence[Future], timeout: float, what: str) -> None:
    """Wait until every one of ``futures`` (of ``client``) is done on the workers; raise what
    the first that failed raised, or TimeoutError after ``timeout`` s naming ``what``.

    Through ``client`` made current here: ``distributed.wait`` needs a current client, which
    the library never sets for a caller.
    """
    from distributed import wait

    with current_in_this_context(client):
        try:
            wait(futures, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(f"{what} did not finish within {timeout:g} s") from None
    for future in futures:
        if future.status == "error":
            error = future.exception()
            if error is not None:
                raise error
