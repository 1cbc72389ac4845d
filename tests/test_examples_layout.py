"""examples/ says what each file is: the Python files at its top are pyscripts (the ones the
configs beside them name), clean for ``check-script``; programs a reader runs are in
examples/programs/."""

from __future__ import annotations

import re
from pathlib import Path

from damaris_ref.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_check_script_finds_nothing_in_the_top_of_examples(capsys):
    pyscripts = sorted(str(p) for p in EXAMPLES.glob("*.py"))
    assert main(["check-script", *pyscripts]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out == f"ok: no findings in {len(pyscripts)} file(s)\n"


def test_the_python_files_at_the_top_of_examples_are_the_pyscripts_the_configs_name():
    """Read from the files' text: a PDI-grammar config loads only with its simulation's data."""
    configs = [*EXAMPLES.glob("*.yml"), *EXAMPLES.glob("*.xml")]
    named = {
        EXAMPLES / name
        for config in configs
        for name in re.findall(r"""\bfile[:=]\s*"?([\w./-]+\.py)\b""", config.read_text())
    }
    assert named == set(EXAMPLES.glob("*.py"))  # each Python file at the top is a pyscript
