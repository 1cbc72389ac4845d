"""The demo's picture: per-server sums stacked against the simulation's total, per iteration."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from damaris_ref.demo.report import IterationCheck


def plot_sums(checks: Sequence[IterationCheck], path: Path) -> Path:
    """Write a bar chart (stacked server sums, C++ total as markers) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    iterations = [c.iteration for c in checks]
    bottoms = [0.0] * len(checks)
    servers = max((len(c.server_sums) for c in checks), default=0)
    for server in range(servers):
        heights = [c.server_sums[server] if server < len(c.server_sums) else 0 for c in checks]
        ax.bar(iterations, heights, bottom=bottoms, label=f"server {server} (Python)")
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    totals = [c.client_total if c.client_total is not None else float("nan") for c in checks]
    ax.plot(
        iterations, totals, "k_", markersize=40, markeredgewidth=2, label="simulation total (C++)"
    )
    ax.set_xlabel("iteration")
    ax.set_ylabel("sum of cube_i")
    ax.set_xticks(iterations)
    ax.set_title("Per-server Python sums add up to the simulation total")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
