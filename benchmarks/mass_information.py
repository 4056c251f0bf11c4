"""How well *any* method could learn the masses from a positions-only file: the Cramér–Rao bound.

`benchmarks/noise.py --cases masses` asks for every learned mass within 2 % of the true one. Whether
a file holds that much information about the masses depends on how far its trajectories bend
against the noise, not on the method. This script answers it with the truth (to judge, never to
learn): with the law known exactly, the positions are x(t) = x0 + v0 t + Σ_j m_j P_j(t), where
P_j is the double time integral of ∂a/∂m_j along the true path (first order in the bending, which
is what a short file holds; the detrended motion is printed beside it). x0 and v0 are free, so
only the part of P_j that is not linear in t carries information; with independent Gaussian noise
σ on every coordinate, the Fisher information of a system's masses is S^T S / σ², S the detrended
P_j, and no unbiased estimator has a smaller variance than its inverse. Knowing the law can only
help, so the bound holds for any method that learns the law too.

    python benchmarks/mass_information.py                  # r2, σ 1e-6 and 1e-5, seeds 0-4
    python benchmarks/mass_information.py --laws r2,spring --noise 1e-5 --seeds 0

For each file: the median relative error bound of a mass, the share of masses whose bound is below
1 % (2 % at two standard deviations), and the chance that an efficient estimator puts *every* mass of
the file within 2 % (Gaussian errors at the bound).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from discover_sweep import commit
from eqlearn.physics import load_dataset
from eqlearn.physics.potentials import get_potential
from noise import FILES, MASS_TOLERANCE
from observed import positions_only_file, true_masses_path
from results_log import parse_seeds, write_markdown

STEP = 1e-6  # relative step of the central differences in the masses
RESULTS = Path(__file__).resolve().parent / "results" / "mass_information.md"


def accelerations(potential, positions: np.ndarray, masses: np.ndarray, charges: np.ndarray, softening: float):
    """Every particle's acceleration [T, n, d] under the pair law at `positions` [T, n, d]."""
    delta = positions[:, :, None] - positions[:, None, :]  # [T, n, n, d]: x_i - x_j
    eye = np.eye(positions.shape[1], dtype=bool)
    delta = np.where(eye[None, :, :, None], 1.0, delta)  # no self-pairs (masked below)
    force = potential.pair_force(delta, masses[:, None], masses[None, :], charges[:, None], charges[None, :],
                                 softening=softening)
    force = np.where(eye[None, :, :, None], 0.0, force)
    return force.sum(axis=2) / masses[None, :, None]


def detrended(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """`values` [T, ...] less their least-squares straight line in t: what x0 + v0 t cannot absorb."""
    basis = np.stack([np.ones_like(times), times - times.mean()], axis=1)
    flat = values.reshape(len(times), -1)
    return (flat - basis @ np.linalg.lstsq(basis, flat, rcond=None)[0]).reshape(values.shape)


def twice_integrated(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """∫∫ values dt dt from times[0] (trapezoids), [T, ...]."""
    def integral(y):
        gaps = np.diff(times).reshape(-1, *([1] * (y.ndim - 1)))
        return np.concatenate([np.zeros_like(y[:1]), np.cumsum(gaps * (y[1:] + y[:-1]) / 2, axis=0)])
    return integral(integral(values))


def relative_mass_bounds(potential, positions, times, masses, charges, softening, noise: float) -> np.ndarray:
    """The Cramér–Rao standard deviation of each mass [n] over the mass, for one system."""
    columns = []
    for j in range(len(masses)):
        up, down = masses.copy(), masses.copy()
        up[j] *= 1 + STEP
        down[j] *= 1 - STEP
        sensitivity = (accelerations(potential, positions, up, charges, softening)
                       - accelerations(potential, positions, down, charges, softening)) / (2 * STEP * masses[j])
        columns.append(detrended(twice_integrated(sensitivity, times), times).reshape(-1))
    sensitivities = np.stack(columns, axis=1)  # [T n d, n]: ∂x/∂m_j
    information = sensitivities.T @ sensitivities / noise**2
    variance = np.diag(np.linalg.pinv(information))
    return np.sqrt(np.clip(variance, 0, None)) / masses


def chance_all_within(bounds: np.ndarray, tolerance: float = MASS_TOLERANCE) -> float:
    """P(every |error| ≤ tolerance) for independent Gaussian errors of these relative deviations."""
    inside = [math.erf(tolerance / (b * math.sqrt(2))) if b > 0 else 1.0 for b in bounds.reshape(-1)]
    return float(np.exp(np.sum(np.log(np.clip(inside, 1e-300, None)))))


def file_bounds(law: str, seed: int, noise: float) -> tuple[np.ndarray, float]:
    """(relative bounds [S, n], median detrended motion per coordinate) of the masses-withheld file of
    `law` and `seed` (its noise-free twin holds the true path)."""
    potential = get_potential(law)
    path = positions_only_file(FILES / f"masses_{law}_500x100_s{seed}_0.npz", potential, seed, 0.0, masses=False)
    exact, true = load_dataset(path), np.load(true_masses_path(path))
    times = np.asarray(exact.system_times, dtype=np.float64)
    charges = exact.charges if exact.charges is not None else np.zeros_like(true)
    bounds = np.stack([relative_mass_bounds(potential, exact.positions[s], times[s], true[s], charges[s],
                                            exact.softening, noise) for s in range(len(true))])
    motion = np.median([np.sqrt(np.mean(detrended(exact.positions[s], times[s]) ** 2)) for s in range(len(true))])
    return bounds, float(motion)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--laws", default="r2")
    parser.add_argument("--noise", default="1e-6,1e-5", help="comma-separated σ, in units of the systems' size")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,2")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown table written")
    args = parser.parse_args()
    lines = ["# How much the masses-withheld files say about the masses", "",
             f"Generated by `python benchmarks/mass_information.py --laws {args.laws} --noise {args.noise} "
             f"--seeds {args.seeds}` at {commit()}: the Cramér–Rao bound on each learned mass, with the law known "
             "(see the script's docstring). Files: n4 d2, 500 systems x 100 states at 0.1 x the law's dt.", "",
             "| law | σ | seed | median detrended motion | median bound | masses with bound < 1 % | P(every mass within 2 %) |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    for law in args.laws.split(","):
        for noise in (float(s) for s in args.noise.split(",")):
            for seed in parse_seeds(args.seeds):
                bounds, motion = file_bounds(law, seed, noise)
                lines.append(f"| {law} | {noise:g} | {seed} | {motion:.2g} | {np.median(bounds):.2%} "
                             f"| {np.mean(bounds < MASS_TOLERANCE / 2):.1%} | {chance_all_within(bounds):.2g} |")
                print(lines[-1], flush=True)
    write_markdown(args.results, [*lines, ""])


if __name__ == "__main__":
    main()
