"""Mock simulation: mean pressure of a WCA (purely repulsive Lennard-Jones) fluid in NVT.

A small but real molecular dynamics run in NumPy, standing in for the ESPResSo sample's
``lj_pressure.py`` with the same parameters and result keys. Reduced units (sigma = epsilon =
mass = 1); particles of diameter sigma fill ``volume_fraction`` of a cubic periodic box. The
integrator is velocity Verlet with a Langevin thermostat applied as an exact
Ornstein-Uhlenbeck step between the two half drifts (the "BAOAB" splitting). The pressure is
the virial one, with the kinetic part from the instantaneous velocities, sampled every step
after ``n_warmup`` steps.

Parameters on stdin: ``n_particles``, ``volume_fraction``, ``n_steps`` (required); ``seed``,
``n_warmup``, ``kT``, ``gamma``, ``time_step`` (optional). Result: ``pressure`` (mean),
``pressure_std_dev`` (of the samples, as upstream), ``pressure_sem`` (standard error of the
mean from block averages) and ``density`` (particles per unit volume).
"""

from __future__ import annotations

import math
import sys

import numpy as np

import dask_espresso as de

#: WCA cutoff: the minimum of the Lennard-Jones potential, where it is shifted to zero
CUTOFF = 2.0 ** (1.0 / 6.0)
#: blocks used to estimate the standard error of the mean pressure
N_BLOCKS = 10

REQUIRED = ("n_particles", "volume_fraction", "n_steps")
OPTIONAL = {"seed": None, "n_warmup": 500, "kT": 1.0, "gamma": 1.0, "time_step": 0.01}


def check_params(params: dict) -> dict:
    """Return the full parameter set, or raise ValueError naming the bad key and valid values."""
    if not isinstance(params, dict):
        raise ValueError(f"parameters must be a dict, got {type(params).__name__}")
    unknown = sorted(set(params) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown}; valid: {', '.join([*REQUIRED, *OPTIONAL])}"
        )
    missing = [key for key in REQUIRED if key not in params]
    if missing:
        raise ValueError(f"missing parameter(s) {missing}; required: {', '.join(REQUIRED)}")
    full = {**OPTIONAL, **params}
    rules = {
        "n_particles": (int, lambda v: v >= 2, "an integer >= 2"),
        "volume_fraction": (float, lambda v: 0 < v <= 0.6, "a number in (0, 0.6]"),
        "n_steps": (int, lambda v: v >= N_BLOCKS, f"an integer >= {N_BLOCKS}"),
        "n_warmup": (int, lambda v: v >= 0, "an integer >= 0"),
        "kT": (float, lambda v: v > 0, "a number > 0"),
        "gamma": (float, lambda v: v > 0, "a number > 0"),
        "time_step": (float, lambda v: 0 < v <= 0.02, "a number in (0, 0.02]"),
    }
    for key, (kind, valid, wanted) in rules.items():
        value = full[key]
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is int:
            ok_type = ok_type and float(value).is_integer()
        if not ok_type or not valid(kind(value)):
            raise ValueError(f"{key}={value!r} is invalid; expected {wanted}")
        full[key] = kind(value)
    if full["seed"] is not None and not isinstance(full["seed"], int):
        raise ValueError(f"seed={full['seed']!r} is invalid; expected an integer or None")
    return full


def box_length(n_particles: int, volume_fraction: float) -> float:
    """Edge of the cubic box in which ``n_particles`` unit-diameter spheres fill that fraction."""
    return (n_particles * math.pi / 6.0 / volume_fraction) ** (1.0 / 3.0)


def fcc_positions(n_particles: int, box: float) -> np.ndarray:
    """The first ``n_particles`` sites of the smallest FCC lattice filling the box, shape (3, N).

    A lattice start avoids the overlaps of random placement, so no energy minimisation is needed.
    """
    cells = math.ceil((n_particles / 4) ** (1.0 / 3.0))
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    corners = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    sites = (corners + basis).reshape(-1, 3) * (box / cells)
    return np.ascontiguousarray(sites[:n_particles].T)


class WCAForces:
    """Pair forces and virial under periodic boundaries, over all pairs (fine for N ~ 100).

    Coordinates are stored as (3, N) arrays: gathering pairs along the long axis is several
    times faster in NumPy than gathering rows of an (N, 3) array.
    """

    def __init__(self, n_particles: int, box: float) -> None:
        self.n = n_particles
        self.box = box
        self.first, self.second = np.triu_indices(n_particles, k=1)

    def __call__(self, positions: np.ndarray) -> tuple[np.ndarray, float]:
        """Return the (3, N) forces and the virial sum of r_ij . F_ij."""
        delta = np.take(positions, self.first, axis=1) - np.take(positions, self.second, axis=1)
        delta -= self.box * np.rint(delta / self.box)
        r2 = delta[0] ** 2 + delta[1] ** 2 + delta[2] ** 2
        near = np.flatnonzero(r2 < CUTOFF**2)
        inv2 = 1.0 / r2[near]
        inv6 = inv2 * inv2 * inv2
        # F_ij = 24 eps (2 (sigma/r)^12 - (sigma/r)^6) / r^2 * r_ij, zero beyond the cutoff
        scale = 24.0 * inv6 * (2.0 * inv6 - 1.0) * inv2
        pair_force = delta[:, near] * scale
        on_first, on_second = self.first[near], self.second[near]
        forces = np.stack(
            [
                np.bincount(on_first, component, self.n) - np.bincount(on_second, component, self.n)
                for component in pair_force
            ]
        )
        return forces, float(scale @ r2[near])


def simulate(
    n_particles: int,
    volume_fraction: float,
    n_steps: int,
    seed: int | None = None,
    n_warmup: int = 500,
    kT: float = 1.0,
    gamma: float = 1.0,
    time_step: float = 0.01,
) -> dict[str, float]:
    """Run the NVT simulation and return the pressure statistics (see the module docstring)."""
    rng = np.random.default_rng(seed)
    box = box_length(n_particles, volume_fraction)
    volume = box**3
    compute_forces = WCAForces(n_particles, box)
    x = fcc_positions(n_particles, box)
    v = rng.normal(0.0, math.sqrt(kT), size=x.shape)
    v -= v.mean(axis=1, keepdims=True)
    f, virial = compute_forces(x)
    damping = math.exp(-gamma * time_step)
    noise = math.sqrt((1.0 - damping**2) * kT)
    half = 0.5 * time_step
    pressures = np.empty(n_steps)
    for step in range(n_warmup + n_steps):
        v += half * f
        x += half * v
        v *= damping
        v += noise * rng.standard_normal(v.shape)
        x += half * v
        x %= box
        f, virial = compute_forces(x)
        v += half * f
        if step >= n_warmup:
            pressures[step - n_warmup] = (float(np.vdot(v, v)) + virial) / (3.0 * volume)
    blocks = pressures[: n_steps - n_steps % N_BLOCKS].reshape(N_BLOCKS, -1).mean(axis=1)
    return {
        "pressure": float(pressures.mean()),
        "pressure_std_dev": float(pressures.std()),
        "pressure_sem": float(blocks.std(ddof=1) / math.sqrt(N_BLOCKS)),
        "density": n_particles / volume,
    }


def main() -> None:
    """Read parameters from stdin, simulate, print the encoded result on stdout."""
    try:
        params = check_params(de.get_data_from_stdin())
    except ValueError as exc:
        sys.exit(f"lj_pressure: {exc}")
    print(de.encode_transport_data(simulate(**params)))


if __name__ == "__main__":
    main()
