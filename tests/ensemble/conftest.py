"""Shared fixtures of the ensemble tests: paths of the test simulations and a small cluster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SIMS = Path(__file__).resolve().parent / "sims"
MOCKS = Path(__file__).resolve().parents[2] / "mocks"


@pytest.fixture
def sim():
    """``sim("crash")`` -> path of ``tests/ensemble/sims/crash.py``; mocks are looked up too."""

    def path(name: str) -> str:
        for folder in (SIMS, MOCKS):
            candidate = folder / f"{name}.py"
            if candidate.is_file():
                return str(candidate)
        raise FileNotFoundError(name)

    return path


@pytest.fixture(scope="module")
def client():
    """A 2-worker thread LocalCluster shared by the tests of one module."""
    from damaris_ref.ensemble import open_client

    with open_client(n_workers=2, threads_per_worker=2) as connected:
        yield connected


@pytest.fixture(autouse=True)
def default_codec_is_restored():
    """Tests may change the default codec (an environment variable); put it back afterwards."""
    from damaris_ref.ensemble.codecs import CODEC_ENV

    saved = os.environ.pop(CODEC_ENV, None)
    yield
    os.environ.pop(CODEC_ENV, None)
    if saved is not None:
        os.environ[CODEC_ENV] = saved
