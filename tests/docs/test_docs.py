"""The docs do what they say: every shell command and Python snippet of the README and docs/
is run here (or its reason not to be is named), and the output they quote is checked.

Each command line of a ```bash block, and each ```python block (by its first line), has an
entry below: what to run and which of the page's claims the output must show, or why it is
not run here (with where it is tested instead). A command or snippet added to the docs
without an entry fails :func:`test_every_command_and_snippet_has_an_entry`, so the two stay
in step. Commands run from a scratch folder holding a copy of ``examples/`` and the
``mocks/`` folder, with this Python's ``bin`` first on ``PATH``; each has a timeout.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from damaris_ref.conformance.cases import case_by_id

from processes import JOB_TIMEOUT, Job, finish, live_commands, start, wait_until

ROOT = Path(__file__).resolve().parents[2]
#: the pages whose snippets are checked
DOCUMENTS = (
    "README.md",
    "docs/config.md",
    "docs/conformance.md",
    "docs/dask.md",
    "docs/ensembles.md",
    "docs/pdi.md",
    "docs/specification.md",
)
BIN = Path(sys.executable).parent
#: a fenced block: its language and its text
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: str
    line: int
    language: str
    text: str

    @property
    def key(self) -> str:
        """How the entries below name a Python block: its first line."""
        return self.text.splitlines()[0]


def blocks(language: str) -> list[Block]:
    """Every fenced block of ``language`` in the checked pages, in page order."""
    found = []
    for page in DOCUMENTS:
        text = (ROOT / page).read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append(Block(page, line, language, match.group(2)))
    return found


def command_lines(block: Block) -> list[str]:
    """The commands of a shell block: continuations joined, comments and blanks dropped."""
    joined = block.text.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        command = re.sub(r"\s+#\s.*$", "", line).strip()
        if command and not command.startswith("#"):
            commands.append(re.sub(r"\s+", " ", command))
    return commands


def page_text(page: str) -> str:
    """A page's text with its line breaks as spaces, to find the claims it makes."""
    return re.sub(r"\s+", " ", (ROOT / page).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Run:
    """Run this (a bash script) and check its output shows every claim of the page.

    ``claims`` are texts quoted on the page that the output must contain; ``patterns`` are
    regular expressions for claims the page quotes with an ellipsis. ``script`` defaults to
    the documented command itself; it differs only where the entry says why.
    """

    page: str
    claims: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    script: str | None = None
    returncode: int = 0
    timeout: float = JOB_TIMEOUT
    check: Callable[[Job, Path], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NotHere:
    """Not run by this test: why, and where it is tested instead."""

    reason: str


#: the seed's 3dmesh_py.yml names a scheduler file example 1 never starts (README, "Using it")
NO_SCHEDULER_WARNING = (
    r"warning: scheduler file '.*dask_file\.json' does not exist; "
    r"pyscript 'MyPyAction' runs without Dask"
)
#: the golden numbers of the runs the pages show (conformance/cases/seed-golden.yaml)
SEED_GOLDEN = case_by_id("seed-5ranks-1core-r").expect
DASK_GOLDEN = case_by_id("seed-domains-6ranks-2cores-d4-r").expect
#: the first lines the seed's 4 clients and 1 dedicated core print (README, "Using it")
SEED_TOTALS = (
    f"C++    iteration  0 , Sum () = {SEED_GOLDEN.client_totals[0]}",
    f"Python iteration  0 , Sum() =  {SEED_GOLDEN.server_sums[0][0]}",
)
#: the README quotes the first line whole and the sums of the next two
MY_SIMULATION_SUMS = ("iteration 0: field sum 128.0 from P0_B0,P1_B0",)
MY_SIMULATION_PATTERNS = (
    r"^iteration 1: field sum 384\.0 from P0_B0,P1_B0$",
    r"^iteration 2: field sum 640\.0 from P0_B0,P1_B0$",
)
#: the suite's own cases, narrowed to keep each documented run to a few MPI jobs
SUITE_NARROWING = "--max-examples 0 -k 'seed-5ranks-1core-r/ or seed-domains'"
#: pdi.md: the sums the seed's file gives on each iteration, from clients and servers
PDI_SEED_SUMS = tuple(
    pattern
    for i, total in enumerate(SEED_GOLDEN.client_totals)
    for pattern in (
        rf"^C\+\+    iteration  {i} , Sum \(\) = {total}$",
        rf"^Python iteration  {i} , Sum\(\) =  {total}$",
    )
)
#: pdi.md quotes the first lines of heat2d_pdi, whose processes print in their own order
HEAT2D_LINES = (
    "C++    step 0 , Sum () = 0.000000",
    "Python iteration  0 , step 0 , Sum() = 0.000000",
    "C++    step 2 , Sum () = 11218750.000000",
    "Python iteration  1 , step 2 , Sum() = 11218750.000000",
)


def _report_has_no_failures(job: Job, folder: Path) -> None:
    import json

    report = json.loads((folder / "conformance.json").read_text())
    assert report["failures"] == [] and report["counts"]["passed"] > 0, job.describe()
    assert (folder / "conformance.xml").is_file()


SHELL: dict[str, Run | NotHere] = {
    "python3 tasks.py demo": NotHere("tox -e demo is this command; tests/dask/test_demo.py"),
    "python3 tasks.py test": NotHere("it is CI itself (.ci/run runs exactly this)"),
    "python3 tasks.py test -e py -- -k topology": NotHere("tasks.py test, with tox arguments"),
    "HYPOTHESIS_PROFILE=thorough python3 tasks.py test -e py": NotHere(
        "tasks.py test -e py with more Hypothesis examples (tests/profiles.py)"
    ),
    'pip install ".[mpich]"': NotHere("tox -e package installs the built wheel this way"),
    "URL=$(git remote get-url origin)": NotHere("needs a clone with a remote"),
    'pip install "damaris-reference[mpich] @ git+$URL"': NotHere(
        "needs the repository's address; tox -e package installs the same wheel"
    ),
    "cd examples": NotHere("the README's next lines run from examples/: their entries do"),
    "mpiexec -n 5 3dmesh_py 3dmesh_py.yml -i 3 -v 2 -r -s 0": Run(
        "README.md",
        SEED_TOTALS,
        (NO_SCHEDULER_WARNING,),
        script="cd examples\nmpiexec -n 5 3dmesh_py 3dmesh_py.yml -i 3 -v 2 -r -s 0",
    ),
    "damaris-ref run -n 5 3dmesh_py 3dmesh_py.yml -i 3 -v 2 -r -s 0": Run(
        "README.md",
        SEED_TOTALS,
        (NO_SCHEDULER_WARNING,),
        script="cd examples\ndamaris-ref run -n 5 3dmesh_py 3dmesh_py.yml -i 3 -v 2 -r -s 0",
    ),
    "damaris-ref demo 3dmesh_dask.yml": NotHere(
        "tests/dask/test_demo.py runs the demo on examples/3dmesh_dask.yml"
    ),
    "damaris-ref ensemble --help": Run(
        "README.md", patterns=(r"^usage: damaris-ref ensemble", r"--param NAME=V1,V2,\.\.\.")
    ),
    "mpiexec -n 3 python examples/programs/my_simulation.py": Run(
        "README.md", MY_SIMULATION_SUMS, MY_SIMULATION_PATTERNS
    ),
    # the README's template with the reference's own 3dmesh_py for /path/to/3dmesh_py
    'python -m damaris_ref.conformance --impl-cmd "mpiexec -n {np} /path/to/3dmesh_py {config} '
    '-i {iterations} -v 2 {r} -s 0" --config-format xml --report-json conformance.json '
    "--junitxml conformance.xml": Run(
        "README.md",
        script='python -m damaris_ref.conformance --impl-cmd "mpiexec -n {np} '
        f'{BIN}/3dmesh_py {{config}} -i {{iterations}} -v 2 {{r}} -s 0" --config-format xml '
        f"--report-json conformance.json --junitxml conformance.xml {SUITE_NARROWING}",
        check=_report_has_no_failures,
    ),
    "python benchmarks/bench_mpi_write.py": NotHere("a benchmark, not a test: minutes of runs"),
    "python benchmarks/bench_dask.py": NotHere("a benchmark, not a test: minutes of runs"),
    "python benchmarks/bench_ensemble.py": NotHere("a benchmark, not a test: minutes of runs"),
    # conformance.md's command, $BUILD set as the page says for a passing run
    'python -m damaris_ref.conformance --impl-cmd "mpiexec -n {np} $BUILD/3dmesh_py {config} '
    '-i {iterations} -v 2 {r} -s 0" --impl-cmd-domains "mpiexec -n {np} '
    '$BUILD/3dmesh_py_domains {config} -i {iterations} -d {domains} {r} -s 0" --config-format '
    "xml --report-json conformance.json --junitxml conformance.xml": Run(
        "docs/conformance.md",
        script="BUILD=$(dirname $(which 3dmesh_py))\npython -m damaris_ref.conformance --impl-cmd "
        '"mpiexec -n {np} $BUILD/3dmesh_py {config} -i {iterations} -v 2 {r} -s 0" '
        '--impl-cmd-domains "mpiexec -n {np} $BUILD/3dmesh_py_domains {config} -i {iterations} '
        '-d {domains} {r} -s 0" --config-format xml --report-json conformance.json '
        f"--junitxml conformance.xml {SUITE_NARROWING}",
        check=_report_has_no_failures,
    ),
    "python -m damaris_ref.conformance --list-cases": Run(
        "docs/conformance.md",
        patterns=(
            r"^seed-5ranks-1core-r +- +§6 Known results; §1 dedicated cores$",
            r"^domains-5ranks-1core-d2 +domains +§6 3dmesh_py_domains; §2 write_block$",
            r"^known-clients +damaris4py$",
        ),
    ),
    "export DAMARIS_UPSTREAM_BUILD=/path/to/upstream/build": NotHere("needs an upstream build"),
    "tox -e upstream": NotHere("opt-in: needs an upstream Damaris build"),
    "python -m damaris_ref.conformance.upstream -x": NotHere("needs an upstream Damaris build"),
    # dask.md's three local commands run as one script; the scheduler is stopped at the end
    "dask scheduler --scheduler-file examples/dask_file.json > scheduler.log 2>&1 &": Run(
        "docs/dask.md",
        (
            f"Python iteration  0  dask x.sum() :=  {DASK_GOLDEN.client_totals[0]}",
            "PASS",
        ),
        patterns=tuple(rf"dask x\.sum\(\) :=  {t}" for t in DASK_GOLDEN.client_totals[1:]),
        script="trap 'kill %1 2>/dev/null; wait' EXIT\n"
        "dask scheduler --scheduler-file examples/dask_file.json --port 0 "
        "--dashboard-address :0 >scheduler.log 2>&1 &\n"
        "while [ ! -s examples/dask_file.json ]; do sleep 1; done\n"
        "mpiexec -n 6 3dmesh_py_domains examples/3dmesh_dask.xml -i 3 -d 4 -r -s 0",
        check=lambda job, _folder: _passes(job, 3),
    ),
    "while [ ! -s examples/dask_file.json ]; do sleep 1; done": NotHere("run with the line above"),
    "mpiexec -n 6 3dmesh_py_domains examples/3dmesh_dask.xml -i 3 -d 4 -r -s 0": NotHere(
        "run with the dask scheduler line above"
    ),
    "mpiexec -n 6 3dmesh_py_domains examples/keep_cube.yml -i 5 -d 4 -r -s 0": Run(
        "docs/dask.md",
        (
            "iteration 2: cube_i sum 102400, mean 50",
            "released 3 kept array(s)",
            "retired 2 worker(s)",
        ),
        patterns=(r"^iteration 3: cube_i sum 104448, mean 51$", r"^iteration 4: cube_i sum 106496"),
        script="trap 'kill %1 2>/dev/null; wait' EXIT\n"
        "dask scheduler --scheduler-file examples/dask_file.json --port 0 "
        "--dashboard-address :0 >scheduler.log 2>&1 &\n"
        "while [ ! -s examples/dask_file.json ]; do sleep 1; done\n"
        "mpiexec -n 6 3dmesh_py_domains examples/keep_cube.yml -i 5 -d 4 -r -s 0\n"
        "python examples/programs/analyse_kept.py examples/dask_file.json",
        check=lambda _job, _folder: _no_worker_left("keep_cube_"),
    ),
    "python examples/programs/analyse_kept.py examples/dask_file.json": NotHere(
        "run with the keep_cube line above"
    ),
    "kill %1": NotHere("the keep_cube run's script stops its scheduler itself"),
    "rm -f scheduler.json": NotHere("part of the SLURM batch script"),
    'srun --nodes=1 --ntasks=1 --overlap dask scheduler --scheduler-file "$PWD/scheduler.json" &': (
        NotHere("the SLURM batch script needs SLURM")
    ),
    "SCHEDULER=$!": NotHere("part of the SLURM batch script"),
    "while [ ! -s scheduler.json ]; do sleep 1; done": NotHere("part of the SLURM batch script"),
    "srun ./my_simulation config.yml": NotHere("the SLURM batch script needs SLURM"),
    'kill "$SCHEDULER"': NotHere("part of the SLURM batch script"),
    "set -euo pipefail": NotHere("part of the SLURM batch script"),
    "mpiexec -n 5 3dmesh_py_pdi 3dmesh_py.yml -i 3 -v 2 -r -s 0": Run(
        "docs/pdi.md",
        tuple(str(total) for total in SEED_GOLDEN.client_totals),  # the sums the page lists
        (NO_SCHEDULER_WARNING, r"is_client = 1$", r"is_client = 0$", *PDI_SEED_SUMS),
        script="cd examples\nmpiexec -n 5 3dmesh_py_pdi 3dmesh_py.yml -i 3 -v 2 -r -s 0",
    ),
    "damaris-ref run -n 5 heat2d_pdi examples/heat2d_pdi.yml -i 7": Run(
        "docs/pdi.md", HEAT2D_LINES
    ),
    "damaris-ref run --clients 4 heat2d_pdi examples/heat2d_pdi.yml -i 7": Run(
        "docs/pdi.md", ("4 clients -> 5 ranks", *HEAT2D_LINES)
    ),
    "damaris-ref ensemble mocks/lj_pressure.py --param volume_fraction=0.1,0.2,0.3 --param "
    "n_particles=100 --param n_steps=2000 --timeout 120 --retries 1 --output results.json": Run(
        "docs/ensembles.md",
        patterns=(r"^volume_fraction\s+n_particles\s+n_steps\s+pressure", r"^\s+0\.3\s+100\s+2000"),
        check=lambda job, folder: _json_outcomes(folder / "results.json", 3),
    ),
}


def _no_worker_left(prefix: str) -> None:
    """No Dask worker named ``prefix...`` is still running (retired workers exit)."""

    def left() -> list[list[str]]:
        return [a for a in live_commands().values() if any(w.startswith(prefix) for w in a)]

    assert wait_until(lambda: not left(), timeout=30), f"workers left running: {left()}"


def _passes(job: Job, iterations: int) -> None:
    assert job.stdout.splitlines().count("PASS") == iterations, job.describe()


def _json_outcomes(path: Path, count: int) -> None:
    """``--output`` wrote every task's parameters and result, none failed."""
    import json

    outcomes = json.loads(path.read_text())
    assert len(outcomes) == count
    assert all(o["error"] is None and o["result"]["pressure"] > 0 for o in outcomes), outcomes


def _python(code: str, cwd: str = ".") -> str:
    """A bash script running ``code`` with this Python from ``cwd`` (of the scratch folder)."""
    return f"cd {shlex.quote(cwd)}\npython - <<'SNIPPET'\n{code}SNIPPET"


def _same_text_as(path: str) -> Callable[[Block], None]:
    def check(block: Block) -> None:
        assert block.text in (ROOT / path).read_text(encoding="utf-8"), (
            f"{block.page}:{block.line}: the snippet is no longer the text of {path}"
        )

    return check


def _clean_pyscript(block: Block) -> None:
    """A script shape the page recommends passes check-script (exit 0, no finding)."""
    with tempfile.TemporaryDirectory() as folder:  # not the folder the tests run from
        job = _run_script(
            f"cat > script.py <<'SNIPPET'\n{block.text}SNIPPET\ndamaris-ref check-script script.py",
            Path(folder),
        )
    assert job.returncode == 0 and "ok: no findings" in job.stdout, job.describe()


PYTHON: dict[str, Run | NotHere | Callable[[Block], None]] = {
    "from pathlib import Path": _same_text_as("examples/programs/my_simulation.py"),
    "from damaris_ref import run_in_process": Run(
        "README.md", MY_SIMULATION_SUMS, MY_SIMULATION_PATTERNS
    ),
    "def main(DD):": _clean_pyscript,
    "from damaris_ref import load_config, load_config_text, dump_yaml, dump_xml, ConfigError": Run(
        "docs/config.md", patterns=(r"^damaris:$", r"^  simulation_name: 3dmesh_py$")
    ),
    "import numpy as np": NotHere("config.md's bad.py: the check-script transcript below"),
    "from distributed import Client": NotHere(
        "needs a run that kept arrays: tests/dask/test_dask_release.py does that analysis"
    ),
    "from damaris_ref.dask_bridge import release_kept": NotHere(
        "tests/dask/test_dask_release.py releases and retires kept workers this way"
    ),
    "# my_sim.py": NotHere("the script the next snippet runs"),
    "import sys": Run(
        "docs/ensembles.md",
        patterns=(r"^\{'pressure': 0\.246\}$", r"^\{'volume_fraction': 0\.3\} \{'pressure': "),
    ),
    '"cube_i": {': NotHere("a description of DamarisData, not code to run"),
    "# the calls of the seed's 3dmesh_py.c, in brief (cube is the program's array)": NotHere(
        "an outline; mocks/pdi_mesh3d.py is the whole program, run by the pdi.md command above"
    ),
    "def main(damaris, comm):  # what damaris_ref.run_in_process calls per rank": NotHere(
        "my_pdi_program is the reader's; tests/pdi/pdi_runs.py runs programs this way"
    ),
}

#: the prelude a Python snippet's Run gets (what the page says to have first)
PRELUDE = {
    "from damaris_ref import run_in_process": ("examples/programs", ""),
    "import sys": ("ensemble", ""),
}


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder shaped like a clone for what the docs run: examples/ copied, mocks/ linked."""
    stale = shutil.ignore_patterns("dask_file.json", "scheduler.json", "__pycache__")
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=stale)  # no old scheduler
    (tmp_path / "mocks").symlink_to(ROOT / "mocks")
    return tmp_path


def _run_script(script: str, cwd: Path | None = None, timeout: float = JOB_TIMEOUT) -> Job:
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    proc = start(["bash", "-c", f"set -e\n{script}"], env, cwd=cwd or Path.cwd())
    return finish(proc, timeout, started)


def _check_run(entry: Run, script: str, folder: Path) -> None:
    job = _run_script(script, folder, entry.timeout)
    assert job.returncode == entry.returncode, job.describe()
    output = job.stdout + job.stderr
    text = page_text(entry.page)
    for claim in entry.claims:
        quoted = re.sub(r"\s+", " ", claim)  # as the page wraps it
        assert quoted in text, f"{entry.page} no longer says {claim!r}: update this entry"
        assert claim in output, job.describe()
    for pattern in entry.patterns:
        assert re.search(pattern, output, re.M), f"{pattern!r} not in\n{job.describe()}"
    if entry.check is not None:
        entry.check(job, folder)


def test_every_command_and_snippet_has_an_entry():
    commands = {c for block in blocks("bash") for c in command_lines(block)}
    snippets = {block.key for block in blocks("python")}
    assert sorted(commands - set(SHELL)) == [], "documented commands without an entry"
    assert sorted(snippets - set(PYTHON)) == [], "documented snippets without an entry"
    assert sorted(set(SHELL) - commands) == [], "entries for commands no page has any more"
    assert sorted(set(PYTHON) - snippets) == [], "entries for snippets no page has any more"


@pytest.mark.parametrize(
    "command", [c for c, entry in SHELL.items() if isinstance(entry, Run)], ids=lambda c: c[:60]
)
def test_documented_command(command: str, scratch: Path):
    entry = SHELL[command]
    assert isinstance(entry, Run)
    _check_run(entry, entry.script or command, scratch)


@pytest.mark.parametrize("block", blocks("python"), ids=lambda b: f"{b.page}:{b.line}")
def test_documented_snippet(block: Block, scratch: Path):
    entry = PYTHON.get(block.key)
    if isinstance(entry, NotHere):
        pytest.skip(entry.reason)
    if callable(entry) and not isinstance(entry, Run):
        entry(block)
        return
    assert isinstance(entry, Run), f"{block.page}:{block.line}: no entry"
    cwd, prelude = PRELUDE.get(block.key, (".", ""))
    (scratch / cwd).mkdir(exist_ok=True)
    if block.key == "import sys":  # the script it runs is the page's block before it
        [script] = [b for b in blocks("python") if b.key == "# my_sim.py"]
        (scratch / cwd / "my_sim.py").write_text(script.text)
    _check_run(entry, _python(textwrap.dedent(prelude) + block.text, cwd), scratch)


def _transcripts() -> list[Block]:
    """The pages' shell transcripts: plain blocks of ``$ command`` lines, each followed by
    what it prints (stdout and stderr together)."""
    return [b for b in blocks("") if b.text.startswith("$ ")]


@pytest.mark.parametrize("transcript", _transcripts(), ids=lambda b: f"{b.page}:{b.line}")
def test_a_transcript_is_what_its_commands_print(transcript: Block, scratch: Path):
    """config.md shows bad.py and what `damaris-ref check-script` prints for it and for a
    missing file, exit statuses (`echo $?`) included."""
    [bad] = [b for b in blocks("python") if b.key == "import numpy as np"]
    (scratch / "bad.py").write_text(bad.text)
    lines = transcript.text.splitlines()
    commands = [line.removeprefix("$ ") for line in lines if line.startswith("$ ")]
    expected = [line for line in lines if not line.startswith("$ ")]
    job = _run_script("set +e\n" + "".join(f"{c} 2>&1\n" for c in commands), scratch)
    assert job.stdout.splitlines() == expected, job.describe()


def test_the_readmes_config_error_is_what_loading_bad_yml_prints(scratch: Path):
    [quoted] = [b.text.strip() for b in blocks("") if "examples/bad.yml:" in b.text]
    job = _run_script(
        "damaris-ref run --in-process -n 5 3dmesh_py examples/bad.yml || test $? = 1", scratch
    )
    assert job.stderr.strip() == quoted, job.describe()


def test_the_global_array_snippet_runs_without_a_scheduler(scratch: Path):
    """dask.md: without a scheduler the scripts run without Dask (the snippet returns)."""
    [snippet] = [b for b in blocks("python") if "global_array(DD" in b.text]
    (scratch / "examples" / "global_sum.py").write_text(snippet.text)
    config = (scratch / "examples" / "3dmesh_dask.yml").read_text()
    config = re.sub(r"file: \S+\.py", "file: global_sum.py", config)
    config = re.sub(r"scheduler_file: \S+", "scheduler_file: nobody.json", config)
    (scratch / "examples" / "no_dask.yml").write_text(config)
    job = _run_script(
        "damaris-ref run --in-process -n 6 3dmesh_py_domains examples/no_dask.yml -i 2 -d 4 -s 0",
        scratch,
    )
    assert job.returncode == 0, job.describe()
    assert "Traceback" not in job.stderr and "Error" not in job.stderr, job.describe()


def test_the_pdi_forms_errors_are_what_loading_its_example_prints(scratch: Path):
    """config.md shows a file in the plugin's form, three edits of it and their errors."""
    [example] = [b for b in blocks("yaml") if b.text.startswith("pdi:\n  metadata: {size: int}")]
    quoted = next(b for b in blocks("") if b.text.startswith("sim.yml:")).text.splitlines()
    edits = [  # what config.md's sentence before the errors says was changed
        ("time_varying: true}", "time_varying: true, units: m}"),
        (
            "pyscript: {name: MyPyAction, file: 3dmesh_py.py, scheduler_file: dask_file.json}",
            "pyscript: [{name: MyPyAction}]",
        ),
        (
            "- parameter: {name: WIDTH, type: int, value: 16}",
            "- {parameter: {name: WIDTH, type: int, value: 16}, second: {name: A}}",
        ),
    ]
    loading = "damaris-ref run --in-process -n 2 3dmesh_py sim.yml -i 1"
    (scratch / "examples" / "sim.yml").write_text(example.text)
    job = _run_script(f"cd examples\n{loading}", scratch)
    assert job.returncode == 0, job.describe()  # the example itself loads and runs
    for (old, new), line in zip(edits, quoted, strict=True):
        assert old in example.text, old
        (scratch / "examples" / "sim.yml").write_text(example.text.replace(old, new))
        job = _run_script(f"cd examples\n{loading} || test $? = 1", scratch)
        assert job.stderr.strip() == f"damaris-ref: error: {line}", job.describe()
