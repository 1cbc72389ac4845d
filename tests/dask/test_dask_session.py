"""DaskSession.open: one warning per scheduler that does not answer, no Dask then, whatever
the scheduler file holds and whatever listens at its address; with one that answers, the
server's own connection sends sooner than Dask's default."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import pytest
from distributed import Client
from hostile_services import closed_port, loopback_service

from damaris_ref.core.config.model import Config, PyScript
from damaris_ref.dask_bridge.session import CLIENT_SEND_INTERVAL, DaskSession


def test_a_missing_scheduler_shared_by_two_pyscripts_is_tried_and_warned_about_once(
    tmp_path: Path, capsys
):
    missing = tmp_path / "no-scheduler.json"
    config = Config(
        "shared",
        pyscripts=(
            PyScript("first", tmp_path / "a.py", scheduler_file=missing),
            PyScript("second", tmp_path / "b.py", scheduler_file=missing),
        ),
    )
    session = DaskSession.open(config, server_id=0, magic="1")
    try:
        warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
        assert len(warnings) == 1, warnings
        assert "does not exist" in warnings[0] and str(missing) in warnings[0]
        assert session.scheduler_files == {}  # both pyscripts run without Dask
    finally:
        session.close()


@pytest.mark.timeout(120)
def test_a_server_s_client_sends_sooner_and_no_other_client_changes(
    tmp_path: Path, scheduler_file: Path, dask_client: Client
):
    """Each message a server sends soon after another waited for ``distributed``'s client
    interval (10 ms) before it left; the server's own connection uses 2 ms."""
    default = dask_client.scheduler_comm.interval
    assert default > CLIENT_SEND_INTERVAL  # what distributed does on its own
    config = Config(
        "sooner", pyscripts=(PyScript("s", tmp_path / "s.py", scheduler_file=scheduler_file),)
    )
    session = DaskSession.open(config, server_id=0, magic="1")
    try:
        own = session.client(str(scheduler_file))
        assert own.scheduler_comm.interval == CLIENT_SEND_INTERVAL
        assert dask_client.scheduler_comm.interval == default
        assert own.submit(sum, [1, 2, 3]).result(timeout=60) == 6
    finally:
        session.close()


def _address_file(address: str) -> Callable[[Path], AbstractContextManager[None]]:
    def write(path: Path) -> AbstractContextManager[None]:
        path.write_text(json.dumps({"address": address, "type": "Scheduler"}))
        return nullcontext()

    return write


def _content(data: bytes) -> Callable[[Path], AbstractContextManager[None]]:
    def write(path: Path) -> AbstractContextManager[None]:
        path.write_bytes(data)
        return nullcontext()

    return write


def _fifo(path: Path) -> AbstractContextManager[None]:
    os.mkfifo(path)
    return nullcontext()


def _directory(path: Path) -> AbstractContextManager[None]:
    path.mkdir()
    return nullcontext()


def _listening(greeting: bytes | None) -> Callable[[Path], AbstractContextManager[None]]:
    """A scheduler file naming a loopback service that greets with ``greeting`` (or is silent)."""

    @contextmanager
    def write(path: Path) -> Iterator[None]:
        with loopback_service(greeting) as address:
            _address_file(address)(path)
            yield

    return write


HOSTILE = {
    "garbage": (_content(b"{not json at all"), "is not JSON"),
    "a list": (_content(b"[1, 2]"), 'no "address" string'),
    "a number address": (_content(b'{"address": 12}'), 'no "address" string'),
    "no address": (_content(b"{}"), 'no "address" string'),
    "empty": (_content(b""), "is not JSON"),
    "not utf-8": (_content(b'{"address": "\xff\xfe"}'), "not JSON"),
    "a directory": (_directory, "is a directory, not a file"),
    "a fifo": (_fifo, "is a FIFO, not a file"),
    "a bad address": (_address_file("nowhere://x"), "is not a Dask address"),
    "a closed port": (_address_file(closed_port()), "nothing listens at tcp://127.0.0.1:"),
    "a service that speaks first": (
        _listening(b"SSH-2.0-OpenSSH_9.6\r\n" * 4),
        "is not a Dask scheduler",
    ),
    "a service that never answers": (_listening(None), "no scheduler answered within 1 s"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_any_unusable_scheduler_file_gives_one_warning_within_the_timeout_and_no_dask(
    tmp_path: Path, capsys, case: str
):
    make, why = HOSTILE[case]
    path = tmp_path / "scheduler.json"
    config = Config(
        "hostile", pyscripts=(PyScript("p", tmp_path / "p.py", scheduler_file=path, timeout=1.0),)
    )
    with make(path):  # a session that waited without bound would hit the test's timeout
        session = DaskSession.open(config, server_id=0, magic="1")
    try:
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1, lines
        assert "warning" in lines[0] and why in lines[0] and "runs without Dask" in lines[0]
        assert session.scheduler_files == {}
    finally:
        session.close()
