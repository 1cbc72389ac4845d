"""``damaris-ref convert IN OUT``: any form to any form, scripts still found, one-line errors."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from damaris_ref.cli import main
from damaris_ref.core.config import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("name", "form", "first"),
    [
        ("out.xml", "xml", "<?xml"),
        ("out.yml", "yaml", "damaris:"),
        ("out.pdi.yml", "pdi", "# PDI specification tree"),
    ],
)
def test_the_form_comes_from_the_name_and_the_scripts_stay_found(
    tmp_path, capsys, name, form, first
):
    out = tmp_path / "sub" / name
    out.parent.mkdir()
    assert main(["convert", str(EXAMPLES / "3dmesh_py.yml"), str(out)]) == 0
    assert f"wrote {out} ({form})" in capsys.readouterr().out
    assert out.read_text().startswith(first)
    original, converted = (
        load_config(EXAMPLES / "3dmesh_py.yml", environ={}),
        load_config(out, environ={}),
    )
    assert converted.pyscripts[0].file.resolve() == original.pyscripts[0].file.resolve()
    assert "../" in out.read_text()  # written relative to OUT's folder
    same_paths = dataclasses.replace(converted, pyscripts=original.pyscripts, source=None)
    assert same_paths == dataclasses.replace(original, source=None)


def test_to_overrides_the_name_and_the_pdi_form_notes_the_fixed_names(tmp_path, capsys):
    out = tmp_path / "plugin.yml"
    assert main(["convert", str(EXAMPLES / "3dmesh_py.xml"), str(out), "--to", "pdi"]) == 0
    err = capsys.readouterr().err
    assert "note: buffer name 'damaris-buffer' becomes '3dmesh_py_buffer'" in err
    assert load_config(out, environ={}).architecture.buffer_name == "3dmesh_py_buffer"


def test_what_the_pdi_form_cannot_hold_is_one_error_line(tmp_path, capsys):
    config = tmp_path / "openmp.yml"
    text = (EXAMPLES / "3dmesh_py_compact.yml").read_text()
    config.write_text(
        text.replace("    frequency: 1\n", "    frequency: 1\n    nthreads: openmp\n")
    )
    shutil.copy(EXAMPLES / "3dmesh_py_short.py", tmp_path)
    out = tmp_path / "out.pdi.yml"
    assert main(["convert", str(config), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("damaris-ref: error: pyscript 'MyPyAction': nthreads 'openmp'"), err
    assert len(err.splitlines()) == 1 and not out.exists()


def test_a_bad_input_is_its_located_config_error(tmp_path, capsys):
    assert main(["convert", str(EXAMPLES / "bad.yml"), str(tmp_path / "x.xml")]) == 1
    assert "bad.yml:8: damaris.architecture.dedicated.cores: unknown key" in capsys.readouterr().err
