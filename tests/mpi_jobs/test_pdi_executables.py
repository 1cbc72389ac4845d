"""The PDI-API executables under a real ``mpiexec``: the seed's sums, the write: example, and
bad input ending the job with one line (no traceback from every rank)."""

from __future__ import annotations

import re
import shutil

import pytest

from pdi_specs import ROOT

TOTAL = re.compile(r"C\+\+    iteration  (\d+) , Sum \(\) = (\d+)")
SERVER_SUM = re.compile(r"Python iteration  (\d+) , Sum\(\) =  (\d+)")
SEED_SUMS = {0: 98304, 1: 98816, 2: 99328}


def test_the_seeds_command_on_pdi_prints_the_seed_sums(tmp_path, run_mpi, console_script):
    """``mpiexec -n 5 3dmesh_py_pdi 3dmesh_py.yml -i 3 -v 2 -r -s 0`` beside the seed's files."""
    for name in ("3dmesh_py.yml", "3dmesh_py.py"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    command = [console_script("3dmesh_py_pdi"), "3dmesh_py.yml", "-i", "3", "-v", "2", "-r"]
    job = run_mpi(5, [*command, "-s", "0"], cwd=tmp_path)
    assert job.returncode == 0, job.describe()
    assert {int(i): int(s) for i, s in TOTAL.findall(job.stdout)} == SEED_SUMS
    assert {int(i): int(s) for i, s in SERVER_SUM.findall(job.stdout)} == SEED_SUMS


def test_heat2d_pdi_runs_under_damaris_ref_run(run_command, console_script):
    example = ROOT / "examples" / "heat2d_pdi.yml"
    job = run_command([console_script("damaris-ref"), "run", "-n", "3", "heat2d_pdi", str(example)])
    assert job.returncode == 0, job.describe()
    simulation = re.findall(r"C\+\+    step (\d+) , Sum \(\) = (\S+)", job.stdout)
    script = re.findall(r"Python iteration  \d+ , step (\d+) , Sum\(\) = (\S+)", job.stdout)
    assert [step for step, _ in simulation] == ["0", "2", "4", "6", "8"]
    assert dict(script) == dict(simulation)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            [("'$iter%$every=0'", "'$iter<=4'")],
            "heat.yml:48: pdi.plugins.damaris.write.main_field.when: "
            "PDI expression '$iter<=4' uses '<='",
        ),
        (
            [("[dsize, psize]", "[dsize, psize, nothing]")],
            "heat.yml:38: pdi.plugins.damaris.layouts[0].layout.depends_on[2]: unknown metadata "
            "'nothing' (allowed: dsize, every, iter, pcoord, psize)",
        ),
        (
            [
                ("[dsize, psize]", "[dsize, psize, nothing]"),
                ("  metadata:\n", "  metadata:\n    nothing: int\n"),
            ],
            "metadata 'nothing' was never exposed",
        ),
    ],
    ids=["expression outside the subset", "depends_on undeclared", "depends_on never exposed"],
)
def test_bad_input_ends_the_job_with_one_line(changes, message, tmp_path, run_mpi, console_script):
    spec = tmp_path / "heat.yml"
    text = (ROOT / "examples" / "heat2d_pdi.yml").read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    spec.write_text(text)
    (tmp_path / "heat2d_pdi.py").write_text((ROOT / "examples" / "heat2d_pdi.py").read_text())
    job = run_mpi(3, [console_script("heat2d_pdi"), str(spec)])
    assert job.returncode == 1, job.describe()
    assert job.stderr.count(message) == 1, job.stderr
    assert "Traceback" not in job.stderr
