"""Simulated data in the form an instrument records: positions at the stored times, with noise.

Velocities and accelerations are withheld (a run estimates them, `eqlearn.physics.derivatives`),
and so, on request, are the masses. The law stays in the meta: it is used only to judge a run.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from eqlearn.errors import UserInputError
from eqlearn.physics.simulator import Trajectories, simulate

#: Integrator tolerance for positions whose derivatives will be estimated: at the simulator's
#: default (1e-7) the stored states wobble about the true solution enough to limit estimated
#: accelerations to ~1e-4 relative (benchmarks/results/derivatives.md); 1e-10 costs 1.5-2x the time.
OBSERVATION_TOLERANCE = 1e-10


def simulate_positions(potential, n: int, dim: int, sims: int, steps: int, dt: float | None = None,
                       seed: int = 0, noise: float = 0.0, masses: bool = True, progress: bool = False,
                       spread: float = 1.0, cutoff: float | None = None, box=None) -> Trajectories:
    """`simulate` as observed: float64 positions (plus Gaussian noise of standard deviation
    `noise`), times, charges and (unless `masses` is False) masses; no velocities or accelerations."""
    _check_noise(noise)
    exact = simulate(potential, n, dim, sims, steps, dt, seed, progress, OBSERVATION_TOLERANCE, dtype=np.float64,
                     spread=spread, cutoff=cutoff, box=box)
    return observe(exact, noise, seed, masses)


def observe(trajectories: Trajectories, noise: float = 0.0, seed: int = 0, masses: bool = True) -> Trajectories:
    """`trajectories` reduced to what is observed: positions plus N(0, noise²) noise (drawn from
    `seed`, apart from the stream of initial conditions), without velocities, accelerations and,
    unless `masses`, masses. `meta["observation"]` records the noise and what was withheld."""
    _check_noise(noise)
    rng = np.random.default_rng([seed, 1])
    positions = np.asarray(trajectories.positions, dtype=np.float64)
    if noise > 0:
        positions = positions + noise * rng.standard_normal(positions.shape)
    meta = {**trajectories.meta, "observation": {"positions_only": True, "noise": noise, "masses_withheld": not masses}}
    return replace(trajectories, positions=positions, velocities=None, accelerations=None,
                   masses=trajectories.masses if masses else None, meta=meta)


def _check_noise(noise: float) -> None:
    if not (math.isfinite(noise) and noise >= 0):
        raise UserInputError(f"noise = {noise}: the noise level must be a number >= 0")
