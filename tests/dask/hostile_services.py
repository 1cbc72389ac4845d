"""Loopback TCP services that are not Dask schedulers, for the scheduler-file fault tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def loopback_service(greeting: bytes | None) -> Iterator[str]:
    """A service on a free loopback port that sends ``greeting`` to each connection as soon as
    it accepts it (None: says nothing, ever); yields its ``tcp://`` address."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    done = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)
            if greeting is not None:
                with contextlib.suppress(OSError):
                    connection.sendall(greeting)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join(5)
        listener.close()
        for connection in accepted:
            connection.close()


def closed_port() -> str:
    """A loopback address where nothing listens (a port just freed)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"
