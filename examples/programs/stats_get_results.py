"""Print the running statistics the stats_3dmesh_dask simulations left on a Dask scheduler.

    python examples/programs/stats_get_results.py -f SCHEDULER_FILE

Prints the count, then the mean and the sample variance averaged over each chunk (one value
per block the simulations wrote). With 4 simulations of -v 1, 2, 3 and 4 for 4 iterations
each: count 16, chunk means rank_start + 2.5 (2.5 for the first block), variances 1.333...
"""

from __future__ import annotations

import argparse

from dask.distributed import Client

from damaris4py.dask import damaris_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-f", dest="scheduler_file", required=True, help="Dask scheduler file")
    args = parser.parse_args()
    with Client(scheduler_file=args.scheduler_file, timeout="10s") as client:
        stats = damaris_stats.DaskStats("dask_client_published_str", "dask_lock_str")
        mean, variance = stats.return_mean_var_tuple(client, lock_timeout=60)
        print("count:", stats.return_count(client, lock_timeout=60))
        try:
            one_per_chunk = stats.get_chunks(client)
        except KeyError:
            print("nothing published yet under 'dask_client_published_str'")
            return
        print("mean per chunk:")
        print(mean.map_blocks(stats.compute_block_average, chunks=one_per_chunk).compute())
        print("variance per chunk:")
        print(variance.map_blocks(stats.compute_block_average, chunks=one_per_chunk).compute())


if __name__ == "__main__":
    main()
