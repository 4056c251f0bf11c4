"""What the benchmarks on observed trajectories share: the positions-only files, one discovery run
on a file, and the learned masses judged against the true ones.

Files hold only what an observer has (positions, times and, unless withheld, masses and charges),
made as `eqlearn simulate --positions-only` makes them; the truth is used only to judge.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import sympy

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.physics import save_dataset, simulate
from eqlearn.physics.observation import OBSERVATION_TOLERANCE, observe
from eqlearn.readout.verify import parse_message
from eqlearn.vocabulary.symbols import m1, m2

#: Positions-only systems: 100 stored steps at a tenth of the law's default spacing.
SIMS, STEPS, DT_FRACTION = 500, 100, 0.1


def discover_file(path: Path, out: Path, seed: int, **options) -> tuple[dict, float]:
    """The default discovery run on the file at `path` (plus `options`, DiscoverConfig fields):
    its equations.json contents and its wall seconds."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    discovery = run_discovery(DiscoverConfig(data=str(path), out=str(out), seed=seed, progress=False, **options),
                              log=lambda _: None)
    return discovery.equations(), round(time.perf_counter() - start, 1)


def positions_only_file(path: Path, potential, seed: int, noise: float, masses: bool = True, sims: int = SIMS,
                        steps: int = STEPS) -> Path:
    """The file `eqlearn simulate --positions-only --noise NOISE [--no-masses]` writes, at a tenth
    of the law's default spacing, made once. Where the masses are withheld the true ones go to
    `true_masses_path(path)`, for judging only."""
    if not path.exists():
        exact = simulate(potential, 4, 2, sims, steps, potential.default_dt * DT_FRACTION, seed,
                         tolerance=OBSERVATION_TOLERANCE, dtype=np.float64)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not masses:
            np.save(true_masses_path(path), np.asarray(exact.masses, dtype=float))
        save_dataset(path, observe(exact, noise, seed, masses))
    return path


def true_masses_path(path: Path) -> Path:
    return path.with_name(path.stem + ".true_masses.npy")


def reference_mass(equations: dict, true_masses: np.ndarray) -> float:
    """The true mass of the run's reference particle: the unit of its learned masses."""
    reference = equations["particles"]["reference"]
    names = [str(i) for i in range(true_masses.shape[1])]
    return float(true_masses[reference["system"], names.index(reference["name"])])


def in_true_mass_units(expressions, true_masses: np.ndarray, equations: dict) -> list[sympy.Expr]:
    """Message expressions written in learned masses (reference = 1) rewritten in true mass units."""
    scale = reference_mass(equations, true_masses)
    return [parse_message(e).xreplace({m1: m1 / scale, m2: m2 / scale}) for e in expressions]


def learned_mass_errors(equations: dict, true_masses: np.ndarray) -> np.ndarray:
    """|learned / true - 1| of every particle, both in the reference particle's unit."""
    learned = np.array([row["learned_mass"] for row in equations["particles"]["table"]]).reshape(true_masses.shape)
    return np.abs(learned / (true_masses / reference_mass(equations, true_masses)) - 1)
