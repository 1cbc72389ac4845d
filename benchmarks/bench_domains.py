"""Cost of one small block write in a whole run: ``3dmesh_py_domains`` with 1 and 4096 domains.

The run of the issue that compared the reference with upstream Damaris: 3 ranks (2 clients and
1 dedicated core), WIDTH=4096, HEIGHT=1, DEPTH=2, 5 iterations, no sleep, and a pyscript that
does nothing. With ``-d 4096`` every client writes 4096 blocks of one element per iteration
(plus ``last_iter`` and ``array_sum``, as with ``-d 1``), so

    cost per block write = (t(-d 4096) - t(-d 1)) / (2 clients x 4096 blocks x 5 iterations)

counts everything a block adds: the simulation's own loop, the client's write, the notice,
the server's bookkeeping, ``DamarisData`` and the release. Wall times are medians of
``--repeat`` runs of each, alternating, and include starting ``mpiexec`` and Python (the same
for both, so the difference cancels them). Upstream's figure on the same machine was about
10 µs per block write. The ratio line gives the ``-d 4096`` job against the ``-d 1`` job (the
floor: the same job and bytes in one block per client), and goes to JSON with the figures
(``--json``, default ``out/bench_domains/bench_domains.json``).

    python benchmarks/bench_domains.py [--repeat 3] [--domains 4096] [--out out/bench_domains]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from floors import FloorReport, add_output_options, json_path

from damaris_ref.launch.launcher import build_command, detect_flavour, find_mpiexec

RANKS, CLIENTS, ITERATIONS = 3, 2, 5
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TRIVIAL_SCRIPT = "def main(DD):\n    pass\n\n\nif __name__ == '__main__':\n    main(DamarisData)\n"
JOB_TIMEOUT = 600.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each domain count")
    parser.add_argument("--domains", type=int, default=4096, help="domains of the large run")
    add_output_options(parser, "bench_domains")
    return parser.parse_args(argv)


def write_config(folder: Path, domains: int) -> Path:
    """examples/3dmesh_py_compact.yml shaped as upstream's domains example, beside a no-op
    script."""
    document = yaml.safe_load((EXAMPLES / "3dmesh_py_compact.yml").read_text())
    section = document["damaris"]
    section["architecture"]["dedicated"]["core"] = 1
    section["architecture"]["domains"] = domains
    section["parameters"]["blocks"] = {"type": "int", "value": 1}
    for name, value in {"WIDTH": 4096, "HEIGHT": 1, "DEPTH": CLIENTS, "size": CLIENTS}.items():
        section["parameters"][name]["value"] = value
    for layout in section["layouts"].values():
        layout["dimensions"] = "DEPTH/size,HEIGHT,WIDTH/blocks"
    section["pyscript"]["file"] = "trivial.py"
    (folder / "trivial.py").write_text(TRIVIAL_SCRIPT)
    path = folder / f"domains_{domains}.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def time_run(config: Path, domains: int) -> float:
    """Wall seconds of one whole ``3dmesh_py_domains`` job (it must succeed)."""
    executable = str(Path(sys.executable).parent / "3dmesh_py_domains")
    mpiexec = find_mpiexec()
    args = [executable, str(config), "-i", str(ITERATIONS), "-d", str(domains), "-s", "0"]
    launch = build_command(RANKS, args, mpiexec=mpiexec, flavour=detect_flavour(mpiexec))
    start = time.perf_counter()
    job = subprocess.run(
        launch.argv,
        env={**launch.env, **os.environ},
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT,
        cwd=config.parent,
    )
    elapsed = time.perf_counter() - start
    if job.returncode != 0:
        raise SystemExit(f"-d {domains} failed ({job.returncode}):\n{job.stdout}\n{job.stderr}")
    return elapsed


def measure(domains: int, repeat: int) -> dict:
    """Medians of ``repeat`` alternating runs with 1 and ``domains`` domains."""
    times: dict[int, list[float]] = {1: [], domains: []}
    with tempfile.TemporaryDirectory(prefix="bench_domains_") as tmp:
        configs = {d: write_config(Path(tmp), d) for d in times}
        for _ in range(repeat):
            for d in times:
                times[d].append(time_run(configs[d], d))
    small, large = (statistics.median(times[d]) for d in (1, domains))
    writes = CLIENTS * domains * ITERATIONS
    return {
        "domains": domains,
        "repeat": repeat,
        "seconds_d1": times[1],
        f"seconds_d{domains}": times[domains],
        "median_d1": small,
        f"median_d{domains}": large,
        "block_writes": writes,
        "us_per_block_write": (large - small) / writes * 1e6,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    result = measure(args.domains, args.repeat)
    d = args.domains
    print(
        f"3dmesh_py_domains, {RANKS} ranks, {ITERATIONS} iterations: "
        f"-d 1 {result['median_d1']:.2f} s, -d {d} {result[f'median_d{d}']:.2f} s "
        f"(medians of {args.repeat})"
    )
    print(f"cost per block write: {result['us_per_block_write']:.1f} us (goal <= 12 us)")
    report = FloorReport("bench_domains")
    report.add(f"-d {d} job", result[f"median_d{d}"], "-d 1 job", result["median_d1"], unit="s")
    report.finish(json_path(args, "bench_domains"), result, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
