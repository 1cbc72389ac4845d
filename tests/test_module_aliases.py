"""Module paths from before the rooms still import: the same module object, with a warning."""

from __future__ import annotations

import json
import subprocess
import sys

from damaris_ref.core.module_aliases import MOVED_MODULES, current_name

#: imports every old path in a fresh interpreter and reports what each gave and what it warned
PROBE = """
import importlib, json, sys, warnings
from damaris_ref.core.module_aliases import MOVED_MODULES
report = {}
for old, new in MOVED_MODULES.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    report[old] = {
        "same": module is importlib.import_module(new),
        "warnings": [str(w.message) for w in caught if w.category is DeprecationWarning],
    }
print(json.dumps(report))
"""


def test_every_old_path_gives_the_module_at_its_new_path_and_says_where_it_went():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(out.stdout)
    assert report.keys() == MOVED_MODULES.keys()
    for old, new in MOVED_MODULES.items():
        assert report[old]["same"], old
        assert any(f"{old} is now {new}" in text for text in report[old]["warnings"]), (
            old,
            report[old],
        )


def test_a_submodule_of_a_moved_package_follows_its_package():
    assert current_name("damaris_ref.config.model") == "damaris_ref.core.config.model"
    assert current_name("damaris_ref.transport.mpi") == "damaris_ref.runtime.transport.mpi"
    assert current_name("damaris_ref.scripts.runner") == "damaris_ref.runtime.scripts.runner"


def test_names_that_did_not_move_are_left_to_the_normal_import_system():
    for name in ("damaris_ref.core.topology", "damaris_ref.cli", "damaris_ref.pdi", "numpy"):
        assert current_name(name) is None, name
