"""DaskSession.open without a working scheduler: one warning per scheduler, no Dask."""

from __future__ import annotations

from pathlib import Path

from damaris_ref.config.model import Config, PyScript
from damaris_ref.dask_bridge.session import DaskSession


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
