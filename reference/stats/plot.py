"""The picture of ``damaris-ref stats``: the mean and variance fields, and the count over time.

Needs matplotlib (the ``plot`` extra); the command skips the picture without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from damaris_ref.stats.shared import Summary


def plot_statistics(
    summary: Summary,
    counts: Mapping[int, Sequence[tuple[int, int]]],
    path: Path,
) -> Path:
    """Left and middle: DEPTH x WIDTH slices (middle HEIGHT) of the mean and the variance, with
    the chunk boundaries; right: the shared count right after each simulation's update at
    each iteration (``counts`` maps a ``-v`` value to its ``(iteration, count)`` pairs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (mean_ax, var_ax, count_ax) = plt.subplots(1, 3, figsize=(14, 4.2))
    mean, variance, chunks = summary.published()
    middle = mean.shape[1] // 2
    for axis, field, title in (
        (mean_ax, mean, "mean"),
        (var_ax, variance, "sample variance"),
    ):
        image = axis.imshow(field[:, middle, :], cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=axis, label=title)
        for edge in np.cumsum(chunks[0])[:-1]:
            axis.axhline(edge - 0.5, color="white", linewidth=1)
        for edge in np.cumsum(chunks[-1])[:-1]:
            axis.axvline(edge - 0.5, color="white", linewidth=1, linestyle=":")
        axis.set(
            title=f"cube_d {title} over {summary.count} samples",
            xlabel="WIDTH (dotted: domains)",
            ylabel="DEPTH (bands: clients)",
        )
    for value, pairs in sorted(counts.items()):
        iterations, after = zip(*pairs, strict=True) if pairs else ((), ())
        count_ax.plot(iterations, after, "o-", label=f"-v {value}")
    count_ax.set(title="Shared count right after each update", xlabel="iteration", ylabel="count")
    count_ax.xaxis.get_major_locator().set_params(integer=True)
    count_ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
