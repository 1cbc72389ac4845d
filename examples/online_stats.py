"""Online statistics: the per-cell running mean and variance of cube_i across iterations.

Each iteration server 0 gets the global ``dask.array`` of ``cube_i`` and folds it into the
running count, mean and sum of squared deviations (Welford's update, which needs no past
data). The running arrays are persisted on the workers, chunk by chunk next to the blocks
they came from, and published on the scheduler under this run's name: the next script run
picks them up from there, and so could an analysis client outside the simulation. At the
last iteration the mean and variance are computed, checked and plotted to
``online_stats.png`` in the current folder. Written for Damaris's exec model: everything is
imported and defined inside ``main``.

3dmesh_py_domains adds 1 to every cell each iteration, so after ``I`` iterations every
cell's variance is ``(I*I - 1) / 12`` and its mean is its first value plus ``(I - 1) / 2``:
the script prints PASS or FAIL for that.
"""


def main(DD):
    import dask.array as da
    import numpy as np
    from dask.distributed import Client, wait

    from damaris4py.dask import damaris_dask
    from damaris4py.server import getservercomm

    def state_name(damaris_data):
        """The scheduler-side name of this run's running statistics."""
        env = damaris_data["damaris_env"]
        return f"online-stats/{env['simulation_name']}/{env['simulation_magic_number']}"

    def update(client, state, cube):
        """Fold one more sample into ``state`` (Welford); the results stay on the workers."""
        count = state["count"] + 1
        sample = cube.astype(np.float64)
        delta = sample - state["mean"]
        mean = state["mean"] + delta / count
        squares = state["squares"] + delta * (sample - mean)
        mean, squares = client.persist([mean, squares])
        wait([mean, squares])  # the blocks they read go with the next iteration
        return {**state, "count": count, "mean": mean, "squares": squares}

    def report(count, first, mean, variance):
        """Check the closed forms and plot a slice of the mean and the variance."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        expected_mean = first + (count - 1) / 2
        expected_variance = (count * count - 1) / 12
        ok = np.allclose(mean, expected_mean) and np.allclose(variance, expected_variance)
        print(
            f"Online stats over {count} iterations: mean in [{mean.min():g}, {mean.max():g}], "
            f"variance in [{variance.min():g}, {variance.max():g}] (expected "
            f"{expected_variance:g}) : {'PASS' if ok else 'FAIL'}",
            flush=True,
        )
        figure, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
        for axis, values, title in (
            (axes[0], mean, "running mean"),
            (axes[1], variance, "variance"),
        ):
            image = axis.imshow(values[0], origin="lower", aspect="auto")
            axis.set(title=f"cube_i {title}, depth 0", xlabel="width", ylabel="height")
            figure.colorbar(image, ax=axis)
        figure.savefig("online_stats.png", dpi=100)
        plt.close(figure)
        print("Online stats: plot written to online_stats.png", flush=True)

    iteration = damaris_dask.return_iteration(DD)
    if damaris_dask.return_scheduler_filename(DD) == "":
        print(f"Online stats iteration {iteration} : no scheduler, nothing to do", flush=True)
        return

    def analyse(client):
        cube = damaris_dask.return_dask_array(DD, client, "cube_i", getservercomm())
        if cube is None:  # only server 0 gets the array
            return
        name = state_name(DD)
        if iteration == 0:
            zeros = da.zeros_like(cube, dtype=np.float64)
            state = {
                "iterations": int(damaris_dask.return_scalar_from_position(DD, "last_iter")),
                "count": 0,
                "mean": zeros,
                "squares": zeros,
                "first": client.persist(cube.astype(np.float64)),
            }
        else:
            state = client.get_dataset(name)
        state = update(client, state, cube)
        if iteration < state["iterations"] - 1:
            client.publish_dataset(state, name=name, override=True)
            return
        mean, variance, first = client.compute(
            [state["mean"], state["squares"] / state["count"], state["first"]], sync=True
        )
        if name in client.list_datasets():
            client.unpublish_dataset(name)  # frees the running arrays on the workers
        report(state["count"], first, mean, variance)

    # a client of the script's own, as upstream's examples make one; what must outlive this
    # run is published on the scheduler, so closing the client at the end loses nothing
    with Client(scheduler_file=damaris_dask.return_scheduler_filename(DD), timeout="10s") as client:
        analyse(client)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - provided by the server
