"""Analyse, from outside the simulation, the arrays a run kept on the Dask scheduler, then
release them and retire the workers the run left running (docs/dask.md, "Analysis from
outside the simulation").

    python examples/programs/analyse_kept.py SCHEDULER_FILE [--simulation NAME] [--variable V]

For a run whose pyscript called ``global_array(..., keep=N)`` with ``keep_workers: yes``
(examples/keep_cube.yml). Prints the sum and mean of every kept iteration, unpublishes the
kept arrays (which pin their blocks on the workers), then retires the workers named after
the simulation (``<simulation>_<magic>_<server>``), found in the scheduler's worker list.
"""

from __future__ import annotations

import argparse

from distributed import Client

from damaris_ref.dask_bridge import iteration_array, release_kept


def kept_iterations(client: Client, simulation: str, variable: str) -> list[int]:
    """The iterations of ``variable`` kept on the scheduler, from the dataset names
    ``damaris/<simulation>/<magic>/<variable>/<iteration>``."""
    found = set()
    for name in client.list_datasets():
        parts = str(name).split("/")
        if len(parts) == 5 and parts[0] == "damaris" and parts[1:4:2] == [simulation, variable]:
            found.add(int(parts[4]))
    return sorted(found)


def summarise(client: Client, simulation: str, variable: str, iteration: int) -> str:
    """One line: the kept array's sum and mean (the array is dropped on return)."""
    cube = iteration_array(client, variable, iteration, simulation=simulation)
    total, mean = client.compute([cube.sum(), cube.mean()], sync=True)
    return f"iteration {iteration}: {variable} sum {int(total)}, mean {float(mean):g}"


def workers_of(client: Client, simulation: str) -> list[str]:
    """The names of the workers a run of ``simulation`` started, from the scheduler's list."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return sorted(w["name"] for w in workers if str(w.get("name", "")).startswith(f"{simulation}_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scheduler_file", metavar="SCHEDULER_FILE")
    parser.add_argument("--simulation", default="keep_cube", help="default: keep_cube")
    parser.add_argument("--variable", default="cube_i", help="default: cube_i")
    args = parser.parse_args(argv)
    with Client(scheduler_file=args.scheduler_file, timeout=30) as client:
        iterations = kept_iterations(client, args.simulation, args.variable)
        if not iterations:
            print(f"no kept array of {args.variable} from {args.simulation} on this scheduler")
            return 1
        for iteration in iterations:
            print(summarise(client, args.simulation, args.variable, iteration))
        released = release_kept(client, simulation=args.simulation)
        print(f"released {len(released)} kept array(s)")
        retired = client.retire_workers(names=workers_of(client, args.simulation))
        print(f"retired {len(retired)} worker(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
