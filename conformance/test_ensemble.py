"""Ensemble conformance (spec §7): a port of the ESPResSo-style ``dask_espresso`` API.

Selected with ``--ensemble-impl MODULE`` (skipped otherwise). The wire format is checked both
ways against the upstream definition (one line of base64 text of a pickle) and the reference
codec; the runner is checked with the suite's own echo simulation: results through
stdin/stdout, errors carrying the exit code and stderr, stderr routed to logging.
"""

from __future__ import annotations

import base64
import importlib
import logging
import os
import pickle
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from damaris_ref.conformance import ensemble_echo
from damaris_ref.conformance.plugin import Suite
from damaris_ref.ensemble import get_codec, run_simulation

ECHO = str(Path(ensemble_echo.__file__).resolve())
SPEC = "specification.md §7"

#: values a simulation's parameters and results are made of
SAMPLES: dict[str, Any] = {
    "scalars": {"n": 3, "phi": 0.25, "name": "lj", "flag": True, "nothing": None},
    "containers": {"grid": [[1, 2], [3, 4]], "pair": (1, "a"), "tags": {"a", "b"}},
    "bytes-and-text": {"blob": bytes(range(256)), "text": "é ü 漢字"},
    "numpy": {"array": np.arange(12.0).reshape(3, 4), "ints": np.arange(5, dtype=np.int32)},
    "not-a-dict": [1, 2.5, "three"],
}


def _same(left: Any, right: Any) -> bool:
    """Equality that compares NumPy arrays by dtype, shape and values."""
    if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
        return (
            isinstance(left, np.ndarray)
            and isinstance(right, np.ndarray)
            and left.dtype == right.dtype
            and np.array_equal(left, right)
        )
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and type(left) is type(right):
        return len(left) == len(right) and all(map(_same, left, right))
    return type(left) is type(right) and left == right


@pytest.fixture
def port(suite: Suite, request: pytest.FixtureRequest, monkeypatch) -> ModuleType:
    """The port's module; its echo simulations import it the same way."""
    request.node.user_properties.extend([("spec", SPEC), ("tier", "optional")])
    if not suite.ensemble_module:
        pytest.skip("no ensemble port given (--ensemble-impl MODULE)")
    monkeypatch.setenv(ensemble_echo.MODULE_VARIABLE, suite.ensemble_module)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    return importlib.import_module(suite.ensemble_module)


def _reference_pickle():
    return get_codec("pickle")


@pytest.mark.parametrize("name", SAMPLES)
def test_port_encodes_one_line_of_base64_pickle(port: ModuleType, name: str) -> None:
    """Upstream's wire format: base64 text of a pickle, on one line."""
    text = port.encode_transport_data(SAMPLES[name])
    assert isinstance(text, str), f"encode_transport_data returned {type(text).__name__}"
    assert "\n" not in text.strip(), "the encoded result spans several lines"
    decoded = pickle.loads(base64.b64decode(text))
    assert _same(decoded, SAMPLES[name]), f"base64+pickle decoding gave {decoded!r}"


@pytest.mark.parametrize("name", SAMPLES)
def test_reference_encodes_port_decodes(port: ModuleType, name: str) -> None:
    """What the reference writes, the port reads."""
    decoded = port.decode_transport_data(_reference_pickle().encode(SAMPLES[name]))
    assert _same(decoded, SAMPLES[name]), f"the port decoded {decoded!r}"


@pytest.mark.parametrize("name", SAMPLES)
def test_port_encodes_reference_decodes(port: ModuleType, name: str) -> None:
    """What the port writes, the reference reads."""
    decoded = _reference_pickle().decode(port.encode_transport_data(SAMPLES[name]))
    assert _same(decoded, SAMPLES[name]), f"the reference decoded {decoded!r}"


def test_simulation_side_helpers(port: ModuleType) -> None:
    """get_data_from_stdin and encode_transport_data in a simulation the reference runs."""
    params = {"volume_fraction": 0.2, "steps": 10}
    result = run_simulation(sys.executable, ECHO, params, codec="pickle", timeout=60)
    assert result == {**params, "processed": True}


def test_task_round_trip(port: ModuleType) -> None:
    """dask_espresso_task runs the script with the kwargs on stdin and returns its result."""
    task = port.dask_espresso_task(sys.executable, ECHO, volume_fraction=0.3, steps=5)
    result = task.compute(scheduler="sync")
    assert result == {"volume_fraction": 0.3, "steps": 5, "processed": True}


def test_task_failure_carries_exit_code_and_stderr(port: ModuleType) -> None:
    """A non-zero exit raises an error that names the exit code and the stderr tail."""
    marker = "conformance-failure-marker"
    task = port.dask_espresso_task(sys.executable, ECHO, exit_code=17, stderr=marker)
    with pytest.raises(Exception) as raised:
        task.compute(scheduler="sync")
    text = f"{raised.value} {getattr(raised.value, 'returncode', '')}"
    assert "17" in text, f"the error does not carry exit code 17: {raised.value!r}"
    assert marker in text + str(getattr(raised.value, "stderr_tail", "")), (
        f"the error does not carry the stderr tail: {raised.value!r}"
    )


def test_task_undecodable_output_raises(port: ModuleType) -> None:
    """A simulation that prints no decodable result raises instead of returning garbage."""
    task = port.dask_espresso_task(sys.executable, ECHO, garbage=True)
    with pytest.raises(Exception):  # noqa: B017 - any error type; returning a value is the bug
        result = task.compute(scheduler="sync")
        pytest.fail(f"undecodable output returned {result!r}")


def test_task_stderr_goes_to_logging(port: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    """A simulation's stderr reaches Python logging (and its result is still returned)."""
    marker = "conformance-stderr-marker"
    caplog.set_level(logging.DEBUG)
    result = port.dask_espresso_task(sys.executable, ECHO, stderr=marker).compute(scheduler="sync")
    assert result == {"stderr": marker, "processed": True}
    assert marker in caplog.text, "the simulation's stderr was not logged"
