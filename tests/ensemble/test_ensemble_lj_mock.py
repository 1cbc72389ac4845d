"""The LJ mock is real physics: ideal gas at low density, Carnahan-Starling-like at moderate."""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest

from damaris_ref.ensemble import SimulationError, run_simulation

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def lj(request):
    """The mock imported as a module (it is a script, not necessarily an installed package)."""
    path = request.config.rootpath / "mocks" / "lj_pressure.py"
    spec = importlib.util.spec_from_file_location("lj_pressure_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_low_density_limit_is_the_ideal_gas(lj):
    result = lj.simulate(n_particles=100, volume_fraction=0.005, n_steps=3000, seed=7)
    rho = 100 / lj.box_length(100, 0.005) ** 3
    assert result["density"] == pytest.approx(rho)
    # P = rho kT (1 + B2 rho + ...); B2 rho is about 0.02 here
    assert result["pressure"] / (rho * 1.0) == pytest.approx(1.02, abs=0.05)


def test_moderate_density_matches_carnahan_starling(lj):
    phi = 0.3
    result = lj.simulate(n_particles=100, volume_fraction=phi, n_steps=3000, seed=3)
    # hard spheres of the WCA effective diameter at kT = 1 (about 1.016 sigma)
    eta = phi * 1.016**3
    z_cs = (1 + eta + eta**2 - eta**3) / (1 - eta) ** 3
    z = result["pressure"] / result["density"]
    assert z == pytest.approx(z_cs, rel=0.08)
    assert 0 < result["pressure_sem"] < result["pressure_std_dev"]


def test_temperature_scales_the_ideal_pressure(lj):
    cold = lj.simulate(n_particles=100, volume_fraction=0.005, n_steps=2000, seed=1, kT=0.5)
    hot = lj.simulate(n_particles=100, volume_fraction=0.005, n_steps=2000, seed=1, kT=2.0)
    assert hot["pressure"] / cold["pressure"] == pytest.approx(4.0, rel=0.1)


def test_same_seed_same_result_other_seed_other_result(lj):
    def run(seed):
        return lj.simulate(n_particles=30, volume_fraction=0.2, n_steps=100, seed=seed)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_fcc_start_has_no_overlaps(lj):
    box = lj.box_length(100, 0.5)
    forces, _ = lj.WCAForces(100, box)(lj.fcc_positions(100, box))
    assert forces.shape == (3, 100)
    assert math.isfinite(abs(forces).max()) and abs(forces).max() < 100


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_particles": 10, "volume_fraction": 0.1}, r"missing parameter\(s\) \['n_steps'\]"),
        ({"n_particles": 10, "volume_fraction": 0.1, "n_steps": 100, "temp": 1}, "unknown"),
        ({"n_particles": 1, "volume_fraction": 0.1, "n_steps": 100}, "n_particles=1 is invalid"),
        ({"n_particles": 10, "volume_fraction": "dense", "n_steps": 100}, r"in \(0, 0.6\]"),
        ({"n_particles": 10.5, "volume_fraction": 0.1, "n_steps": 100}, "an integer >= 2"),
        ({"n_particles": 10, "volume_fraction": 0.1, "n_steps": 100, "seed": "x"}, "seed="),
    ],
)
def test_bad_parameters_name_the_key_and_the_valid_values(lj, params, message):
    with pytest.raises(ValueError, match=message):
        lj.check_params(params)


def test_bad_parameters_reach_the_user_through_the_runner(request):
    script = request.config.rootpath / "mocks" / "lj_pressure.py"
    with pytest.raises(SimulationError, match=r"volume_fraction=0\.9 is invalid") as caught:
        run_simulation(
            sys.executable, script, {"n_particles": 10, "volume_fraction": 0.9, "n_steps": 100}
        )
    assert caught.value.kind == "failed"
