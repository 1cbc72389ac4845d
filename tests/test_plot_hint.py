"""Without matplotlib, every command and example that draws a picture prints the same hint,
its install command quoted so that a shell such as zsh leaves the brackets alone."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from damaris_ref.cli.plot_hint import NO_PLOT
from damaris_ref.stats.shared import Summary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_matplotlib(monkeypatch):
    """An install without matplotlib: importing it (or a module that does) fails."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for module in ("damaris_ref.stats.plot", "damaris_ref.demo.plot"):
        monkeypatch.delitem(sys.modules, module, raising=False)


def _draw_stats(folder: Path) -> None:
    from damaris_ref.stats import cli

    field = np.zeros((8, 8, 16))
    cli._plot(Summary(16, field, field, field, field, ((4, 4), (8,), (4, 4, 4, 4))), [], folder)


def _draw_demo(folder: Path) -> None:
    from damaris_ref import demo

    demo._plot([], folder)


def _draw_run_pv(folder: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "run_pv_hint", ROOT / "examples" / "programs" / "run_pv.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.save_plot(None, folder / "pv.png") is False


def test_the_hint_quotes_the_install_command():
    assert 'pip install "damaris-reference[plot]"' in NO_PLOT


@pytest.mark.parametrize("draw", [_draw_stats, _draw_demo, _draw_run_pv], ids=lambda d: d.__name__)
def test_every_picture_without_matplotlib_prints_the_one_hint(
    draw, no_matplotlib, tmp_path, capsys
):
    draw(tmp_path)
    assert capsys.readouterr().out == f"{NO_PLOT}\n"
    assert list(tmp_path.iterdir()) == []
