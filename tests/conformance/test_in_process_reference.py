"""The in-process reference tells the probe where to record through the environment, as a
port's executables do, and leaves the environment as it found it."""

from __future__ import annotations

import os
import shutil

import pytest

from damaris_ref.conformance import probe
from damaris_ref.conformance.cases import case_by_id
from damaris_ref.conformance.impls import InProcessReference, parse_capabilities


@pytest.mark.parametrize("before", [None, "/a/folder/of/the/caller"])
def test_the_probe_records_in_the_run_folder_and_the_environment_is_restored(
    tmp_path, monkeypatch, before
):
    if before is None:
        monkeypatch.delenv(probe.DIR_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(probe.DIR_VARIABLE, before)
    probe_file = tmp_path / "probe.py"
    shutil.copyfile(probe.__file__, probe_file)
    reference = InProcessReference(parse_capabilities("all", ""), "yaml")
    run = reference.run(case_by_id("cores-2ranks-1core"), tmp_path / "work", probe_file, 60)
    assert run.returncode == 0, run.stderr
    assert run.records and not run.problems  # the probe found its folder
    assert os.environ.get(probe.DIR_VARIABLE) == before
