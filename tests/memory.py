"""Memory measurements for tests that bound what an action may hold (bounds, not timings)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def peak_memory(action: Callable[[], object]) -> int:
    """The most memory ``action`` held at once, in bytes (what existed before not counted)."""
    tracemalloc.start()
    try:
        action()
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak
