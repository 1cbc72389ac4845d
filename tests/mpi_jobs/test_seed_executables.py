"""The seed executables under a real ``mpiexec`` give the seed numbers of spec §6.

Run the way a user runs them: the console scripts installed beside this Python, the example
config and script copied into a folder, the launcher's ``mpiexec`` (MPICH or Open MPI).
Output is matched with regexes over the whole text: ranks share the launcher's stdout, so
lines of different ranks interleave and are not reliably one per ``splitlines`` item.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import pytest

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


@dataclass(frozen=True)
class Seed:
    """A spec §6 case: 3dmesh_py with WIDTH 16, HEIGHT 8, DEPTH 4, ``-i 3 -v 2``."""

    ranks: int
    cores: int
    rank_only: bool
    totals: tuple[int, ...]
    server_sums: tuple[tuple[int, ...], ...]
    blocks: dict[tuple[int, str], int] = field(default_factory=dict)

    def args(self, config) -> list[str]:
        return [str(config), "-i", "3", "-v", "2", "-s", "0", *(["-r"] if self.rank_only else [])]


SEEDS = {
    "5ranks-1core-r": Seed(
        5,
        1,
        True,
        (98304, 98816, 99328),
        ((98304,), (98816,), (99328,)),
        {
            (0, "P0_B0"): 0,
            (0, "P1_B0"): 16384,
            (0, "P2_B0"): 32768,
            (0, "P3_B0"): 49152,
            (1, "P0_B0"): 128,
            (1, "P1_B0"): 16512,
            (1, "P2_B0"): 32896,
            (1, "P3_B0"): 49280,
        },
    ),
    "6ranks-2cores-r": Seed(
        6, 2, True, (98304, 98816, 99328), ((16384, 81920), (16640, 82176), (16896, 82432))
    ),
    "5ranks-1core": Seed(5, 1, False, (130816, 131328, 131840), ((130816,), (131328,), (131840,))),
    "6ranks-2cores": Seed(
        6, 2, False, (130816, 131328, 131840), ((32640, 98176), (32896, 98432), (33152, 98688))
    ),
}


def assert_seed_numbers(seed: Seed, output: str) -> None:
    """Totals, per-server sums and (where known) per-block sums of every iteration."""
    assert totals(output) == dict(enumerate(seed.totals)), output
    assert server_sums(output) == {i: sorted(s) for i, s in enumerate(seed.server_sums)}, output
    found = block_sums(output)
    assert len(found) == 3 * (seed.ranks - seed.cores)
    assert {k: found[k] for k in seed.blocks} == seed.blocks


@pytest.mark.parametrize("seed", SEEDS.values(), ids=SEEDS.keys())
def test_3dmesh_py_gives_the_seed_numbers(seed, seed_config, run_mpi, console_script):
    config = seed_config(cores=seed.cores)
    job = run_mpi(seed.ranks, [console_script("3dmesh_py"), *seed.args(config)])
    assert job.returncode == 0, job.describe()
    assert_seed_numbers(seed, job.stdout)


@pytest.mark.parametrize("launch", ["damaris-ref run", "python -m damaris_ref.mpi_runtime"])
def test_other_entry_points_give_the_seed_numbers(
    launch, seed_config, run_mpi, run_command, console_script
):
    seed = SEEDS["6ranks-2cores-r"]
    args = seed.args(seed_config(cores=seed.cores))
    if launch == "damaris-ref run":  # it starts mpiexec itself
        job = run_command([console_script("damaris-ref"), "run", "-n", "6", "3dmesh_py", *args])
    else:
        job = run_mpi(6, [sys.executable, "-m", "damaris_ref.mpi_runtime", "3dmesh_py", *args])
    assert job.returncode == 0, job.describe()
    assert_seed_numbers(seed, job.stdout)


def test_3dmesh_py_domains_server_sums_add_up_to_the_totals(seed_config, run_mpi, console_script):
    config = seed_config(cores=2, domains=4, DEPTH=16)
    job = run_mpi(
        6, [console_script("3dmesh_py_domains"), str(config), "-i", "3", "-d", "4", "-r", "-s", "0"]
    )
    assert job.returncode == 0, job.describe()
    assert totals(job.stdout) == {0: 98304, 1: 100352, 2: 102400}
    sums = server_sums(job.stdout)
    assert {i: len(s) for i, s in sums.items()} == {0: 2, 1: 2, 2: 2}
    assert {i: sum(s) for i, s in sums.items()} == totals(job.stdout)
    expected_keys = {f"P{p}_B{b}" for p in range(4) for b in range(4)}
    for iteration in range(3):
        keys = {key for i, key in block_sums(job.stdout) if i == iteration}
        assert keys == expected_keys


def test_verbosity_0_prints_no_client_data(seed_config, run_mpi, console_script):
    job = run_mpi(
        5, [console_script("3dmesh_py"), str(seed_config()), "-i", "2", "-v", "0", "-s", "0"]
    )
    assert job.returncode == 0, job.describe()
    assert "C++" not in job.stdout
    assert server_sums(job.stdout) == {0: [130816], 1: [131328]}


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
