"""The block helpers both ``DaskStats`` classes offer as static methods (spec §4).

Upstream's scripts reduce a statistic to one number per chunk with
``mean.map_blocks(daskstats.compute_block_average, chunks=daskstats.get_chunks(client))``;
these functions return arrays of one element per dimension for exactly that use.
"""

from __future__ import annotations

import numpy as np


class BlockHelpers:
    """Static helpers for ``map_blocks``: chunk shapes and per-chunk reductions."""

    @staticmethod
    def set_chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
        """A tuple of 1s, one per dimension of ``shape``: ``(1, 1, 1)`` for a 3-D array."""
        return (1,) * len(shape)

    @staticmethod
    def get_array_as_string(shape_len: int) -> str:
        """The indexing that turns a 1-element array into ``shape_len`` dimensions, as text:
        ``'[: , None, None]'`` for 3."""
        return "[: " + ", None" * (shape_len - 1) + "]"

    @staticmethod
    def compute_block_average(block: np.ndarray) -> np.ndarray:
        """The block's mean, shaped ``(1, ..., 1)`` like the block's dimensions."""
        return np.full((1,) * block.ndim, np.average(block))

    @staticmethod
    def compute_block_average_of_sqrt(block: np.ndarray) -> np.ndarray:
        """The mean of the block's element-wise square roots, shaped ``(1, ..., 1)``."""
        return np.full((1,) * block.ndim, np.average(np.sqrt(block)))

    @staticmethod
    def compute_block_add_rand(
        block: np.ndarray, mean: float = 0.0, std: float = 0.1
    ) -> np.ndarray:
        """The block plus normal noise of this mean and standard deviation (a fresh generator
        per call, so every block of a ``map_blocks`` gets different noise)."""
        return block + np.random.default_rng().normal(mean, std, np.shape(block))
