"""The demo's picture: the sums per iteration, and a slice of the global array Dask rebuilt."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from damaris_ref.demo.report import IterationCheck


def plot_demo(
    checks: Sequence[IterationCheck],
    array_slice: np.ndarray | None,
    chunks: Sequence[Sequence[int]] | None,
    path: Path,
) -> Path:
    """Left: stacked per-server sums with the simulation and Dask totals; right: a
    DEPTH x WIDTH slice of the global array with its blocks' boundaries (one band per client,
    one column per domain)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (sums_ax, slice_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    iterations = [c.iteration for c in checks]
    bottoms = np.zeros(len(checks))
    for server in range(max((len(c.server_sums) for c in checks), default=0)):
        heights = np.array([c.server_sums[server] for c in checks], dtype=float)
        sums_ax.bar(iterations, heights, bottom=bottoms, label=f"server {server} (Python)")
        bottoms += heights
    sums_ax.plot(
        iterations,
        [c.client_total for c in checks],
        "k_",
        markersize=40,
        markeredgewidth=2,
        label="simulation total (C++)",
    )
    dask = [c.dask_sum for c in checks]
    if any(d is not None for d in dask):
        sums_ax.plot(iterations, dask, "r*", markersize=12, label="global dask.array sum")
    sums_ax.set(
        xlabel="iteration",
        ylabel="sum of cube_i",
        xticks=iterations,
        title="Per-server sums add up to the simulation total",
    )
    sums_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small")
    if array_slice is not None:
        image = slice_ax.imshow(array_slice, cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=slice_ax, label="cube_i")
        if chunks is not None:
            for edge in np.cumsum(chunks[0])[:-1]:
                slice_ax.axhline(edge - 0.5, color="white", linewidth=1)
            for edge in np.cumsum(chunks[-1])[:-1]:
                slice_ax.axvline(edge - 0.5, color="white", linewidth=1, linestyle=":")
        slice_ax.set(
            title=f"Global dask.array at iteration {iterations[-1]} (middle HEIGHT)",
            xlabel="WIDTH (dotted: domains)",
            ylabel="DEPTH (bands: clients)",
        )
    else:
        slice_ax.axis("off")
        slice_ax.text(0.5, 0.5, "no Dask: no global array", ha="center", va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
