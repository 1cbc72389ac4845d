"""DaskSession.open: one warning per scheduler that does not answer, no Dask then; with one
that answers, the server's own connection sends sooner than Dask's default."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed import Client

from damaris_ref.config.model import Config, PyScript
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
