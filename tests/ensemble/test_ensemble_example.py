"""``examples/programs/run_pv.py`` runs with no required arguments, prints its table and
writes its plot."""

from __future__ import annotations

import importlib.util
import sys

import pytest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def run_pv(request):
    path = request.config.rootpath / "examples" / "programs" / "run_pv.py"
    spec = importlib.util.spec_from_file_location("run_pv_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sweep_prints_the_table_and_saves_the_plot(run_pv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default plot path is relative
    assert run_pv.main(["--n-steps", "300"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line[:5].strip().startswith("0.")]
    assert [float(row[0]) for row in rows] == run_pv.VOLUME_FRACTIONS
    pressures = [float(row[2]) for row in rows]
    assert pressures == sorted(pressures) and pressures[0] > 0
    assert (tmp_path / "pv.png").read_bytes().startswith(b"\x89PNG")


def test_without_matplotlib_the_table_is_still_printed(run_pv, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    plot = tmp_path / "pv.png"
    assert run_pv.main(["--n-steps", "100", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out and "P/rho kT" in out
    assert not plot.exists()
