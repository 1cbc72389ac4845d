"""Fixtures of the PDI API tests (their helpers are in pdi_runs.py)."""

from __future__ import annotations

import pytest

from recorder import Recorder


@pytest.fixture
def recorder() -> Recorder:
    """Records what every script run receives; pass it to ``run_pdi``."""
    return Recorder()
