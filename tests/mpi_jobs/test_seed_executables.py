"""The seed executables under a real ``mpiexec`` give the seed numbers of spec §6.

Run the way a user runs them: the console scripts installed beside this Python, the example
config and script copied into a folder, the launcher's ``mpiexec`` (MPICH or Open MPI).
Output is matched with regexes over the whole text: ranks share the launcher's stdout, so
lines of different ranks interleave and are not reliably one per ``splitlines`` item.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from damaris_ref.conformance.cases import GOLDEN_FILE, Case, case_by_id, load_case_file
from damaris_ref.conformance.impls import SEED_ARGS, render

TOTAL = re.compile(r"C\+\+\s+iteration\s+(\d+)\s*,\s*Sum \(\)\s*=\s*(-?\d+)")
SERVER_SUM = re.compile(r"Python iteration\s+(\d+)\s*,\s*Sum\(\)\s*=\s*(-?\d+)")
BLOCK_SUM = re.compile(
    r"Python iteration\s+(\d+)\s*,\s*Data found: cube_i\[ (P\d+_B\d+) \]\.sum\(\)\s*=\s*(-?\d+)"
)
CLIENT_ARRAY = re.compile(r"C\+\+\s+iteration\s+(\d+)\s*,\s*client (\d+) block (\d+):")


def totals(output: str) -> dict[int, int]:
    """``{iteration: total}`` printed by client 0."""
    return {int(i): int(v) for i, v in TOTAL.findall(output)}


def server_sums(output: str) -> dict[int, list[int]]:
    """``{iteration: sorted per-server sums}`` printed by the script on each server."""
    sums: dict[int, list[int]] = {}
    for i, v in SERVER_SUM.findall(output):
        sums.setdefault(int(i), []).append(int(v))
    return {i: sorted(v) for i, v in sums.items()}


def block_sums(output: str) -> dict[tuple[int, str], int]:
    """``{(iteration, "P<src>_B<block>"): sum}`` printed by the script per block."""
    return {(int(i), key): int(v) for i, key, v in BLOCK_SUM.findall(output)}


#: the golden cases of 3dmesh_py (conformance/cases/seed-golden.yaml), their numbers as ports
#: get them
SEEDS = {case.id: case for case in load_case_file(GOLDEN_FILE) if case.simulation == "3dmesh_py"}


def seed_args(case: Case, config: Path) -> list[str]:
    """The case's arguments, as the conformance suite passes them (``-i I -v 2 [-r] -s 0``)."""
    return render(SEED_ARGS[case.simulation], case, config)


def assert_seed_numbers(case: Case, output: str) -> None:
    """The case's golden totals, per-server sums and per-block sums; every iteration's server
    sums add up to its total, and each block's sum is printed once."""
    golden = case.expect
    printed = totals(output)
    assert sorted(printed) == list(range(case.iterations)), output
    assert {i: printed[i] for i in range(len(golden.client_totals))} == dict(
        enumerate(golden.client_totals)
    ), output
    sums = server_sums(output)
    assert {i: sum(s) for i, s in sums.items()} == printed, output
    assert {i: sums[i] for i in golden.server_sums} == {
        i: sorted(s) for i, s in golden.server_sums.items()
    }, output
    found = block_sums(output)
    clients = case.np - case.dedicated_cores
    assert len(found) == case.iterations * clients
    for iteration, blocks in golden.block_sums.items():
        assert {key: found[(iteration, key)] for key in blocks} == blocks


@pytest.mark.parametrize("case", SEEDS.values(), ids=SEEDS.keys())
def test_3dmesh_py_gives_the_seed_numbers(case, seed_config, run_mpi, console_script):
    config = seed_config(cores=case.dedicated_cores)
    job = run_mpi(case.np, [console_script("3dmesh_py"), *seed_args(case, config)])
    assert job.returncode == 0, job.describe()
    assert_seed_numbers(case, job.stdout)


@pytest.mark.parametrize("launch", ["damaris-ref run", "python -m damaris_ref.mocks"])
def test_other_entry_points_give_the_seed_numbers(
    launch, seed_config, run_mpi, run_command, console_script
):
    case = SEEDS["seed-6ranks-2cores-r"]
    args = seed_args(case, seed_config(cores=case.dedicated_cores))
    if launch == "damaris-ref run":  # it starts mpiexec itself
        job = run_command(
            [console_script("damaris-ref"), "run", "-n", str(case.np), "3dmesh_py", *args]
        )
    else:
        job = run_mpi(case.np, [sys.executable, "-m", "damaris_ref.mocks", "3dmesh_py", *args])
    assert job.returncode == 0, job.describe()
    assert_seed_numbers(case, job.stdout)


def test_3dmesh_py_domains_server_sums_add_up_to_the_totals(seed_config, run_mpi, console_script):
    case = case_by_id("seed-domains-6ranks-2cores-d4-r")
    config = seed_config(cores=case.dedicated_cores, domains=case.domains, DEPTH=case.depth)
    job = run_mpi(case.np, [console_script("3dmesh_py_domains"), *seed_args(case, config)])
    assert job.returncode == 0, job.describe()
    assert totals(job.stdout) == dict(enumerate(case.expect.client_totals))
    sums = server_sums(job.stdout)
    servers = case.dedicated_cores  # one host: one server per dedicated core
    assert {i: len(s) for i, s in sums.items()} == dict.fromkeys(range(case.iterations), servers)
    assert {i: sum(s) for i, s in sums.items()} == totals(job.stdout)
    clients = case.np - case.dedicated_cores
    expected_keys = {f"P{p}_B{b}" for p in range(clients) for b in range(case.domains)}
    for iteration in range(case.iterations):
        keys = {key for i, key in block_sums(job.stdout) if i == iteration}
        assert keys == expected_keys


def test_verbosity_0_prints_no_client_data(seed_config, run_mpi, console_script):
    case = SEEDS["seed-5ranks-1core"]  # one server: its sums are the client totals
    job = run_mpi(
        case.np, [console_script("3dmesh_py"), str(seed_config()), "-i", "2", "-v", "0", "-s", "0"]
    )
    assert job.returncode == 0, job.describe()
    assert "C++" not in job.stdout
    assert server_sums(job.stdout) == {i: [case.expect.client_totals[i]] for i in range(2)}


def test_verbosity_1_prints_each_clients_array_in_rank_order(seed_config, run_mpi, console_script):
    job = run_mpi(
        5, [console_script("3dmesh_py"), str(seed_config()), "-i", "2", "-v", "1", "-r", "-s", "0"]
    )
    assert job.returncode == 0, job.describe()
    assert totals(job.stdout) == {}
    headers = [tuple(map(int, h)) for h in CLIENT_ARRAY.findall(job.stdout)]
    assert headers == [(i, c, 0) for i in range(2) for c in range(4)]
    # -r: client c's array holds iteration + c*128 everywhere, printed after its header
    for iteration, client, _block in headers:
        header = f"client {client} block 0:"
        after = job.stdout.split(f"iteration  {iteration} , {header}", 1)[1]
        first_value = re.search(r"-?\d+", after).group()
        assert int(first_value) == iteration + client * 128
