"""The mpiexec launcher: argv and environment for both MPI flavours (from faked ``--version``
texts), then real jobs under the installed mpiexec: a normal run, a timeout, and SIGTERM to the
launcher, each checked to leave no process of the job behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from damaris_ref.core.errors import RunError
from damaris_ref.launch import launcher
from damaris_ref.launch.launcher import (
    MpiFlavour,
    build_command,
    detect_flavour,
    find_mpiexec,
    flavour_from_version_text,
    read_rank_output,
    run_job,
)

from processes import live_commands, wait_until

HYDRA_VERSION = """HYDRA build details:
    Version:                                 5.0.2
    Release Date:                            Fri Sep 25 20:45:26 UTC 2026
    Process Manager:                         pmi
    Launchers available:                     ssh rsh fork slurm ll lsf sge manual persist
"""
OPEN_MPI_VERSION = """mpiexec (Open MPI) 5.0.11

Report bugs to https://www.open-mpi.org/community/help/
"""
OLD_OPEN_MPI_VERSION = (
    "mpiexec (OpenRTE) 4.1.5\n\nReport bugs to http://www.open-mpi.org/community/help/\n"
)

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="process-tree checks read /proc"
)


def child_env() -> dict[str, str]:
    """This environment, with this interpreter's import path so children find damaris_ref."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker``."""
    return [pid for pid, argv in live_commands().items() if any(marker in arg for arg in argv)]


def assert_none_left(marker: str, within: float = 5.0) -> None:
    gone = wait_until(lambda: not processes_with(marker), timeout=within)
    assert gone, f"processes of the job still alive: {processes_with(marker)}"


def wait_for_files(folder: Path, count: int, timeout: float) -> None:
    started = wait_until(lambda: len(list(folder.iterdir())) >= count, timeout=timeout)
    assert started, f"only {len(list(folder.iterdir()))} ranks started"


# Each rank records its pid in READY_DIR (argv[1]), optionally ignores SIGTERM, then sleeps;
# argv[2] is a marker that makes the job's processes findable in /proc.
SLEEPING_RANK = textwrap.dedent(
    """
    import os, pathlib, signal, sys, time
    if sys.argv[3] == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pathlib.Path(sys.argv[1], str(os.getpid())).touch()
    time.sleep(120)
    """
)


# --- flavour, argv, discovery -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "flavour"),
    [
        (HYDRA_VERSION, MpiFlavour.MPICH),
        (OPEN_MPI_VERSION, MpiFlavour.OPEN_MPI),
        (OLD_OPEN_MPI_VERSION, MpiFlavour.OPEN_MPI),
    ],
)
def test_flavour_from_version_text(text, flavour):
    assert flavour_from_version_text(text) is flavour


def test_unknown_flavour_is_a_clear_error():
    with pytest.raises(RunError, match=r"Some Other MPI 1\.0.*DAMARIS_MPIEXEC"):
        flavour_from_version_text("Some Other MPI 1.0\n")


def test_mpich_argv_has_no_open_mpi_options_even_as_root():
    launch = build_command(
        4, ["python", "-c", "pass"], mpiexec="/x/mpiexec", flavour=MpiFlavour.MPICH, as_root=True
    )
    assert launch.argv == ("/x/mpiexec", "-n", "4", "python", "-c", "pass")
    assert dict(launch.env) == {}


@pytest.mark.parametrize("as_root", [True, False])
def test_open_mpi_argv_oversubscribes_and_allows_root_only_as_root(as_root):
    launch = build_command(
        12, ["sim", "--x"], mpiexec="/y/mpiexec", flavour=MpiFlavour.OPEN_MPI, as_root=as_root
    )
    assert launch.argv == ("/y/mpiexec", "-n", "12", "--oversubscribe", "sim", "--x")
    expected = {"OMPI_MCA_osc": "^ucx"}
    if as_root:
        expected |= {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    assert dict(launch.env) == expected


@pytest.mark.parametrize(("nranks", "command"), [(0, ["a"]), (2, [])])
def test_build_command_rejects_empty_jobs(nranks, command):
    with pytest.raises(ValueError):
        build_command(nranks, command, mpiexec="m", flavour=MpiFlavour.MPICH)


def fake_mpiexec(folder: Path, version_text: str) -> Path:
    """A script that prints ``version_text`` and counts its calls in ``calls``."""
    script = folder / "mpiexec"
    script.write_text(
        f"#!/bin/sh\necho x >> '{folder / 'calls'}'\ncat <<'EOF'\n{version_text}EOF\n"
    )
    script.chmod(0o755)
    return script


def test_detect_flavour_runs_version_once_per_path(tmp_path):
    exe = str(fake_mpiexec(tmp_path, OPEN_MPI_VERSION))
    assert detect_flavour(exe) is MpiFlavour.OPEN_MPI
    assert detect_flavour(exe) is MpiFlavour.OPEN_MPI
    assert (tmp_path / "calls").read_text().count("x") == 1


def test_find_mpiexec_prefers_the_environment_variable(tmp_path, monkeypatch):
    exe = fake_mpiexec(tmp_path, HYDRA_VERSION)
    monkeypatch.setenv("DAMARIS_MPIEXEC", str(exe))
    assert find_mpiexec() == str(exe)
    monkeypatch.setenv("DAMARIS_MPIEXEC", str(tmp_path / "missing"))
    with pytest.raises(RunError, match="DAMARIS_MPIEXEC"):
        find_mpiexec()


def test_find_mpiexec_looks_beside_python_then_on_path(tmp_path, monkeypatch):
    venv_bin, path_bin = tmp_path / "venv", tmp_path / "path"
    venv_bin.mkdir()
    path_bin.mkdir()
    monkeypatch.delenv("DAMARIS_MPIEXEC", raising=False)
    monkeypatch.setattr(launcher.sys, "executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", str(path_bin))
    with pytest.raises(RunError, match=r"the mpich wheel \(`pip install mpich`\)"):
        find_mpiexec()
    on_path = fake_mpiexec(path_bin, HYDRA_VERSION)
    assert find_mpiexec() == str(on_path)
    beside = fake_mpiexec(venv_bin, HYDRA_VERSION)
    assert find_mpiexec() == str(beside)


OPEN_MPI_RECORDER = """\
import json, os, sys
if sys.argv[1] == "--version":
    print("mpiexec (Open MPI) 5.0.11")
    sys.exit(0)
keys = ("OMPI_MCA_osc", "OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM")
seen = {"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in keys}}
with open(os.environ["RECORD_TO"], "w") as out:
    json.dump(seen, out)
"""


def test_run_job_passes_open_mpi_defaults_but_the_callers_environment_wins(tmp_path):
    fake = tmp_path / "mpiexec"
    fake.write_text(f"#!{sys.executable}\n{OPEN_MPI_RECORDER}")
    fake.chmod(0o755)
    record = tmp_path / "seen.json"
    env = {"PATH": os.environ["PATH"], "RECORD_TO": str(record), "OMPI_MCA_osc": "sm"}
    assert run_job(5, ["sim"], mpiexec=str(fake), env=env, timeout=30) == 0
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["-n", "5", "--oversubscribe", "sim"]
    root = "1" if os.geteuid() == 0 else None
    assert seen["env"] == {
        "OMPI_MCA_osc": "sm",
        "OMPI_ALLOW_RUN_AS_ROOT": root,
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": root,
    }


# --- real jobs ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_runs_a_python_command_on_three_ranks(capfd):
    code = "from mpi4py import MPI; c = MPI.COMM_WORLD; print(f'rank {c.rank} of {c.size}')"
    assert run_job(3, [sys.executable, "-c", code], timeout=30, env=child_env()) == 0
    # mpiexec relays each rank's output in chunks that need not keep lines whole
    seen = sorted(re.findall(r"rank \d+ of \d+", capfd.readouterr().out))
    assert seen == ["rank 0 of 3", "rank 1 of 3", "rank 2 of 3"]


@pytest.mark.timeout(60)
def test_each_ranks_output_can_be_read_apart(tmp_path):
    """Printed in pieces, unbuffered, two ranks' lines can run together in the merged stream;
    each rank's own file keeps them whole."""
    code = (
        "import sys; from mpi4py import MPI; r = MPI.COMM_WORLD.rank\n"
        "for i in range(50): print('rank', r, 'line', i)"
    )
    exe = find_mpiexec()
    launch = build_command(
        2,
        [sys.executable, "-c", code],
        mpiexec=exe,
        flavour=detect_flavour(exe),
        rank_output=tmp_path,
    )
    env = {**child_env(), **launch.env, "PYTHONUNBUFFERED": "1"}
    subprocess.run(launch.argv, env=env, check=True, timeout=30, capture_output=True)
    outputs = read_rank_output(tmp_path)
    assert outputs == {r: "".join(f"rank {r} line {i}\n" for i in range(50)) for r in (0, 1)}


@pytest.mark.timeout(60)
def test_returns_the_job_exit_code():
    code = "import sys; from mpi4py import MPI; sys.exit(3)"
    assert run_job(2, [sys.executable, "-c", code], timeout=30) == 3


@needs_proc
@pytest.mark.timeout(60)
def test_timeout_stops_even_ranks_that_ignore_sigterm(tmp_path):
    marker = f"damaris-test-{uuid.uuid4().hex}"
    argv = [sys.executable, "-c", SLEEPING_RANK, str(tmp_path), marker, "ignore-term"]
    with pytest.raises(RunError, match="within 2 s") as info:  # the ranks sleep 120 s
        run_job(2, argv, timeout=2, grace=1)
    assert info.value.timeout == 2
    assert len(list(tmp_path.iterdir())) == 2  # both ranks had really started
    assert_none_left(marker)


# A launcher that, like Hydra and PRRTE, puts each rank in a session of its own, but forwards
# no signal and ignores SIGTERM itself: the teardown must find and stop the ranks on its own.
STUBBORN_MPIEXEC = """\
import signal, subprocess, sys, time
if sys.argv[1] == "--version":
    print("HYDRA build details:")
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
ranks = [subprocess.Popen(sys.argv[3:], start_new_session=True) for _ in range(int(sys.argv[2]))]
time.sleep(120)
"""


@needs_proc
@pytest.mark.timeout(60)
def test_teardown_reaches_ranks_a_stubborn_launcher_left_behind(tmp_path):
    fake = tmp_path / "mpiexec"
    fake.write_text(f"#!{sys.executable}\n{STUBBORN_MPIEXEC}")
    fake.chmod(0o755)
    ready = tmp_path / "ready"
    ready.mkdir()
    marker = f"damaris-test-{uuid.uuid4().hex}"
    argv = [sys.executable, "-c", SLEEPING_RANK, str(ready), marker, "ignore-term"]
    with pytest.raises(RunError):
        run_job(3, argv, timeout=2, grace=0.5, mpiexec=str(fake))
    assert len(list(ready.iterdir())) == 3
    assert_none_left(marker)


LAUNCHER_SCRIPT = textwrap.dedent(
    """
    import sys
    from damaris_ref.launch.launcher import run_job
    sys.exit(run_job(3, [sys.executable, "-c", sys.argv[1], *sys.argv[2:]], timeout=60, grace=2))
    """
)


@needs_proc
@pytest.mark.timeout(60)
@pytest.mark.parametrize("rank_behaviour", ["obey-term", "ignore-term"])
def test_sigterm_to_the_launcher_tears_the_job_down(tmp_path, rank_behaviour):
    marker = f"damaris-test-{uuid.uuid4().hex}"
    ready = tmp_path / "ready"
    ready.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER_SCRIPT, SLEEPING_RANK, str(ready), marker, rank_behaviour],
        env=child_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_files(ready, 3, timeout=30)
        assert len(processes_with(marker)) >= 3
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert "received SIGTERM" in err
    assert_none_left(marker)
