"""examples/ says what each file is: the Python files at its top are pyscripts (the ones the
configs beside them name), clean for ``check-script``; programs a reader runs are in
examples/programs/."""

from __future__ import annotations

from pathlib import Path

from damaris_ref.cli import main
from damaris_ref.config import load_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_check_script_finds_nothing_in_the_top_of_examples(capsys):
    pyscripts = sorted(str(p) for p in EXAMPLES.glob("*.py"))
    assert main(["check-script", *pyscripts]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out == f"ok: no findings in {len(pyscripts)} file(s)\n"


def test_every_pyscript_a_config_names_is_at_the_top_of_examples():
    configs = [*EXAMPLES.glob("*.yml"), *EXAMPLES.glob("*.xml")]
    named = {
        s.file for c in configs if c.name != "bad.yml" for s in load_config(c, environ={}).pyscripts
    }
    assert named and {f.parent for f in named} == {EXAMPLES}
    assert all(f.is_file() for f in named), sorted(map(str, named))
