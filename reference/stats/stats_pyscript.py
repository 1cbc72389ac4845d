"""The pyscript of ``damaris-ref stats``: one statistics update per iteration (spec §6).

Every server takes part in building the global ``dask.array`` of ``cube_d``; server 0 adds it
to the statistics every simulation shares (upstream's dataset and lock names) and appends
the count right after its update to ``$DAMARIS_STATS_OUT/updates.jsonl``, which the command
reads for its progress bar and its plot. Written for Damaris's exec model: everything is
imported inside ``main``.
"""


def main(damaris_data):
    import json
    import os

    from damaris4py.dask import damaris_dask, damaris_stats
    from damaris4py.server import getservercomm
    from damaris_ref.core.errors import DaskError
    from damaris_ref.dask_bridge import current_session

    scheduler_file = damaris_dask.return_scheduler_filename(damaris_data)
    if not scheduler_file:
        raise DaskError("no Dask scheduler answered at start-up: no statistics to update")
    session = current_session()
    if session is None:
        raise DaskError("no Dask session: this pyscript runs on a Damaris server only")
    client = session.client(scheduler_file)
    cube = damaris_dask.return_dask_array(damaris_data, client, "cube_d", getservercomm())
    if cube is None:  # only server 0 gets the array
        return
    stats = damaris_stats.DaskStats("dask_client_published_str", "dask_lock_str")
    count = stats.update(cube, client, lock_timeout=60)
    record = {"iteration": damaris_dask.return_iteration(damaris_data), "count": count}
    with open(os.path.join(os.environ["DAMARIS_STATS_OUT"], "updates.jsonl"), "a") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(DamarisData)  # type: ignore[name-defined]  # noqa: F821 - bound by the server
