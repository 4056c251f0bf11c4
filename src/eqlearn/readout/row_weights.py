"""How much each row of a refit counts: its relative size, and the noise its target carries.

The refit's least squares minimise the relative net-force error that training and the truth-free
verdict use, so each row is weighted by its predicted force (never by its noisy target), and where
the targets' noise is known (weak-form windows) by that noise too.
"""
from __future__ import annotations

import numpy as np

from eqlearn.gnn.training import GraphSet

#: Relative error of the law itself that a row with a known noise is weighted as carrying (`relative_weights`).
MODEL_ERROR = 1e-3


def relative_weights(force: np.ndarray, noise: np.ndarray | None = None,
                     resolution: np.ndarray | None = None) -> np.ndarray:
    """Row weights 1 / sqrt(|F|² + f²) per particle and graph (f: the median |F|), flattened: the
    least squares then minimise the relative net-force error that training and the truth-free
    verdict use, so close encounters (the largest forces, and the worst estimated ones in observed
    data) do not decide the law alone. `force` is the read-out's own prediction, not the data:
    weights taken from noisy targets would favour the rows whose noise happens to shrink them.

    Where the targets' noise (std per axis, [G, n]) is known, each row counts as carrying that
    noise beside a relative error MODEL_ERROR of its force: 1 / sqrt(noise² + MODEL_ERROR² (|F|² +
    f²)). Rows whose noise dominates are then weighted by 1/noise (generalised least squares): on
    weak-form targets of noisy positions this brings a spring's coefficients from 2-4 % to 0.2 % of
    the truth (σ = 1e-3, measured); noise-free rows keep the relative weights.

    `resolution` [G, n, d] (windows only) is the prediction's own estimate of the weak identity's
    error on windows the sampling does not resolve; it counts beside the noise. Without it a
    close encounter whose weak target is 20 % off, at 700 times the median force, outweighs the
    hundreds of other rows of a held-out set, and the refit keeps any term that bends towards it."""
    size = np.linalg.norm(np.nan_to_num(force, nan=0.0, posinf=0.0, neginf=0.0), axis=-1)
    typical = np.median(size)
    if typical == 0 and np.any(size > 0):  # a law that is zero on most rows (a force switched off below a distance)
        typical = np.median(size[size > 0])
    squares = size**2 + typical**2
    if noise is not None:
        squares = noise**2 + MODEL_ERROR**2 * squares
        if resolution is not None:
            squares = squares + np.sum(np.nan_to_num(resolution, nan=0.0, posinf=0.0, neginf=0.0) ** 2, axis=-1)
    return (1.0 / np.sqrt(squares + 1e-300)).reshape(-1)


def target_noise(samples: GraphSet) -> np.ndarray | None:
    """The noise (std per axis) of every sample's net-force target [G, n], or None where not known."""
    if samples.target_noise is None:
        return None
    return (samples.target_noise.double()[:, None] * samples.masses.double()).numpy()


def noise_fvu(samples: GraphSet, weight: np.ndarray, target: np.ndarray) -> float:
    """The share of the (weighted) `target`'s sum of squares that the targets' estimated noise
    accounts for: 0 where the samples carry no noise estimate."""
    noise = target_noise(samples)
    if noise is None:
        return 0.0
    return float(np.sum((noise.reshape(-1) * weight) ** 2) / max(float(np.sum(target**2)), 1e-300))
