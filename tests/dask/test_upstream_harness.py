"""The upstream oracle harness: its setup errors, the suite options it builds, and its
example step, fed with this project's upstream-shaped examples (spec §6, §8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from damaris_ref.conformance import upstream
from damaris_ref.conformance.impls import CommandTemplate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def upstream_layout(root: Path) -> Path:
    """Our XML examples and their scripts under upstream's names, in upstream's source tree
    (``examples/python``): the scripts are ``*_short.py`` here, ``3dmesh_*.py`` there."""
    source = root / "examples" / "python"
    source.mkdir(parents=True)
    for stem in ("3dmesh_py", "3dmesh_dask"):
        xml = (EXAMPLES / f"{stem}.xml").read_text()
        (source / f"{stem}.xml").write_text(xml.replace(f"{stem}_short.py", f"{stem}.py"))
        shutil.copy(EXAMPLES / f"{stem}_short.py", source / f"{stem}.py")
    return source


def test_a_missing_build_is_named_with_what_it_should_hold(tmp_path, capsys):
    assert upstream.main([], environ={}) == 2
    assert "DAMARIS_UPSTREAM_BUILD is not set" in capsys.readouterr().err
    assert upstream.main([], environ={"DAMARIS_UPSTREAM_BUILD": str(tmp_path)}) == 2
    assert "no examples/python/3dmesh_py there" in capsys.readouterr().err


def test_the_suite_drives_both_executables_with_xml_and_the_deviations(tmp_path):
    build = tmp_path / "build"
    (build / "examples" / "python").mkdir(parents=True)
    (build / "examples" / "python" / "3dmesh_py").touch()
    options = upstream.suite_arguments(
        {"DAMARIS_UPSTREAM_BUILD": str(build), "DAMARIS_UPSTREAM_PYTHONPATH": "/opt/d4py"}
    )
    pairs = dict(zip(options[::2], options[1::2], strict=True))
    assert pairs["--config-format"] == "xml"
    assert pairs["--deviations"] == "upstream-1.7.1"
    mesh = CommandTemplate(pairs["--impl-cmd"])
    domains = CommandTemplate(pairs["--impl-cmd-domains"])
    assert {"np", "config", "iterations", "r"} <= mesh.fields
    assert "domains" in domains.fields
    assert "PYTHONPATH=/opt/d4py" in pairs["--impl-cmd"]
    assert str(build / "examples" / "python" / "3dmesh_py_domains") in pairs["--impl-cmd-domains"]


@pytest.mark.timeout(600)
def test_upstream_shaped_examples_pass_the_example_step(tmp_path):
    """The step that runs upstream's own files, given ours in upstream's source layout."""
    upstream_layout(tmp_path / "source")
    work = tmp_path / "work"
    work.mkdir()
    assert upstream.check_upstream_examples(tmp_path / "source", work) == []


@pytest.mark.timeout(600)
def test_the_example_step_reports_a_wrong_sum(tmp_path):
    source = upstream_layout(tmp_path / "source")
    broken = (source / "3dmesh_py.py").read_text().replace("server_sum += block_sum", "")
    (source / "3dmesh_py.py").write_text(broken)
    work = tmp_path / "work"
    work.mkdir()
    problems = upstream.check_upstream_examples(tmp_path / "source", work)
    assert len(problems) == 1 and problems[0].startswith("upstream 3dmesh_py.xml/.py: per-server")
