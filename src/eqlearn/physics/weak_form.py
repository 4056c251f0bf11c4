"""Weak-form targets: what observed positions say about the forces without differentiating them.

For a test function φ that vanishes with its first derivative at both ends of a window of the
trajectory, integrating by parts twice gives ∫ φ ẍ dt = ∫ φ'' x dt (Messenger & Bortz, "Learning
mean-field equations from particle data using WSINDy", Physica D 2022). The right side is linear in
the positions, so their noise averages down over the window instead of being amplified by 1/Δt²,
and unlike a local polynomial fit it has no bias at any width. A window's *weak target*

    b = Σ_k w''_k x(t_k) / Σ_k w_k,   w_k = q_k φ(t_k),  w''_k = q_k φ''(t_k)

(q_k trapezoidal quadrature weights, which handle uneven times) is the φ-weighted mean acceleration
over the window; a model is compared with it through its accelerations at the window's states,
weighted by w_k / Σ w_k. The test functions are the bumps φ(t) = (1 - ((t - c)/h)²)^p.

The window is chosen from the data, never from a law: the position noise is estimated as for the
accelerations (`derivatives.estimate_position_noise`), the noise it leaves in the weak targets is
σ ‖w''‖ / Σ w, and windows widen until that noise is small against the targets themselves (the
motion), or as far as the trajectories allow.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from eqlearn.physics.derivatives import SELECTION_SYSTEMS, estimate_position_noise

#: Power p of the bump (1 - s²)^p. The noise a window passes on grows with p (‖φ''‖ / ∫φ: 1.2x that
#: of p = 2 at p = 3, 3.4x at p = 8), while with the weights made exact on polynomial motion
#: (`EXACT_DEGREES`) the identity holds to ~1e-6 of the targets on noise-free r2 and spring files from
#: p = 3 on (measured; p = 2 is 30x worse on the widest spring windows).
POWER = 3
#: The weak identity is made exact (in the discrete sums) for polynomial motion of degree below this.
EXACT_DEGREES = 10
#: Candidate numbers of time points per window, the shortest first.
WINDOW_POINTS = (11, 15, 21, 27, 35, 45, 57, 71, 91, 115, 145, 181, 231, 291, 371, 471)
#: Windows widen until the estimated noise of the weak targets is this fraction of their RMS.
TARGET_NOISE = 0.01


@dataclass(frozen=True)
class WindowChoice:
    """The test functions of a weak-form run and how noisy their targets are thought to be."""

    points: int  # stored time points per window
    stride: int  # stored steps between the starts of consecutive windows
    power: int  # p of the bump (1 - s²)^p
    half_width: float  # median half-width h of the windows, in the data's time unit
    position_noise: float  # estimated standard deviation of the noise on each position coordinate
    relative_target_noise: float  # estimated noise of a particle's weak target / the targets' median size

    def as_dict(self) -> dict:
        return {"method": "weak-form", "test_function": "(1 - ((t - c)/h)^2)^p", **asdict(self)}


def bump(s: np.ndarray, power: int = POWER) -> tuple[np.ndarray, np.ndarray]:
    """(φ, d²φ/ds²) of φ(s) = (1 - s²)^p on [-1, 1] (0 outside)."""
    inside = np.clip(1.0 - s**2, 0.0, None)
    phi = inside**power
    curvature = -2 * power * inside ** (power - 1) + 4 * power * (power - 1) * s**2 * inside ** (power - 2)
    return phi, np.where(np.abs(s) < 1, curvature, 0.0)


def trapezoid_weights(times: np.ndarray) -> np.ndarray:
    """Trapezoidal quadrature weights [..., K] for samples at `times` [..., K] (any spacing)."""
    gaps = np.diff(times, axis=-1)
    weights = np.zeros_like(times)
    weights[..., :-1] += gaps / 2
    weights[..., 1:] += gaps / 2
    return weights


def window_starts(steps: int, points: int, stride: int) -> np.ndarray:
    """First stored step of every window of `points` steps, `stride` apart, centred in the `steps`."""
    if points > steps:
        return np.zeros(0, dtype=int)
    span = steps - points
    count = span // stride + 1
    return (span - (count - 1) * stride) // 2 + stride * np.arange(count)


def window_weights(times: np.ndarray, starts: np.ndarray, points: int, power: int = POWER, every: int = 1):
    """(mean weights, curvature weights), each [S, W, K], of the windows starting at `starts` in
    every system's times [S, T]: the φ-weighted mean of a quantity over window w is
    Σ_k mean[s, w, k] y[s, starts[w] + k], and its weak target Σ_k curvature[s, w, k] x[...].
    With `every` > 1, the quadrature on every `every`-th state of each window only (K of them)."""
    local, scaled, half_width = _window_times(times, starts, points, every)
    phi, curvature = bump(scaled, power)
    quadrature = trapezoid_weights(local)
    total = np.sum(quadrature * phi, axis=-1, keepdims=True)
    mean, curvature = quadrature * phi / total, quadrature * curvature / total
    return mean, _exact_on_polynomials(curvature, mean, scaled) / half_width**2


def _window_times(times: np.ndarray, starts: np.ndarray, points: int, every: int = 1):
    """(times [S, W, K] of every window's states (every `every`-th of them), the same scaled to
    [-1, 1], half-widths [S, W, 1])."""
    local = times[:, starts[:, None] + np.arange(0, points, every)]
    centre = (local[..., :1] + local[..., -1:]) / 2
    half_width = (local[..., -1:] - local[..., :1]) / 2
    return local, (local - centre) / half_width, half_width


def coarse_mean_weights(times: np.ndarray, starts: np.ndarray, points: int, power: int = POWER) -> np.ndarray:
    """The mean weights [S, W, K] of `window_weights` as a quadrature on every other state of each
    window only (0 on the others). Where the motion is resolved by the sampling the two means agree
    to the quadrature's tiny error; where it is not (a close encounter whose force peaks between two
    stored states) they differ by about as much as either is wrong, and the weak identity does not
    hold there either (15-25 % of the target on the sharpest windows of noise-free files, measured):
    `resolution_error` turns the difference into an error estimate the refit allows for."""
    coarse = np.zeros((*times.shape[:1], len(starts), points))
    coarse[..., ::2] = window_weights(times, starts, points, power, every=2)[0]
    return coarse


def _exact_on_polynomials(curvature: np.ndarray, mean: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The curvature weights [..., K] (in the window's scaled time s) moved by the least amount that
    makes the identity Σ curvature·x = Σ mean·ẍ exact for polynomials x of degree < EXACT_DEGREES.

    The positions are of order one while the part of them that the forces bend is tiny (10⁻⁴ of
    them over a short window): the quadrature's small error on a constant or a straight line would
    otherwise swamp it."""
    degrees = min(EXACT_DEGREES, s.shape[-1] - 1)
    powers = np.arange(degrees)
    basis = s[..., None] ** powers  # [..., K, D]
    second = np.where(powers >= 2, powers * (powers - 1), 0) * s[..., None] ** np.clip(powers - 2, 0, None)
    wanted = np.einsum("...k,...kd->...d", mean, second)
    missing = wanted - np.einsum("...k,...kd->...d", curvature, basis)
    gram = np.einsum("...kd,...ke->...de", basis, basis)
    return curvature + np.einsum("...kd,...d->...k", basis, np.linalg.solve(gram, missing[..., None])[..., 0])


def windowed(values: np.ndarray, starts: np.ndarray, weights: np.ndarray, every: int = 1) -> np.ndarray:
    """Σ_k weights[s, w, k] values[s, starts[w] + every k] for values [S, T, ...]: [S, W, ...]."""
    gathered = values[:, starts[:, None] + every * np.arange(weights.shape[-1])]  # [S, W, K, ...]
    return np.einsum("swk,swk...->sw...", weights, gathered)


def weak_targets(positions: np.ndarray, times: np.ndarray, starts: np.ndarray, points: int,
                 power: int = POWER) -> np.ndarray:
    """The weak targets [S, W, n, d] (φ-weighted mean accelerations) of positions [S, T, n, d]."""
    return windowed(positions, starts, window_weights(times, starts, points, power)[1])


def momentum_targets(positions: np.ndarray, times: np.ndarray, power: int = POWER) -> np.ndarray:
    """Weak targets [S, R, n, d] of positions [S, T, n, d] on windows of every width in
    WINDOW_POINTS that fits (half overlapping), each divided by its estimated error: the position
    noise it passes on, plus how far it moves when every other state is left out (motion the
    sampling does not resolve, as in `coarse_mean_weights`).

    For the momentum start of learned masses (`gnn.particles.masses_from_momentum`): Σ m_i b_i = 0
    holds on every window, whatever its width. Short windows see the fast bodies, long ones the weak
    pull on the heaviest, whose motion noise hides on short ones (the Sun's reflex on Jupiter); in
    units of their own error every row counts alike. The rows share states, but the errors
    `masses_from_momentum` reads from them as if they did not are 1-2x the spread of the estimates
    over noise draws (measured on DE421's solar system at σ = 1e-9 au), not smaller."""
    sample = _spread_systems(len(positions))
    noise = estimate_position_noise(positions[sample], times[sample])
    rows = []
    for points in (p for p in WINDOW_POINTS if p <= positions.shape[1]):
        starts = window_starts(positions.shape[1], points, max(1, points // 2))
        curvature = window_weights(times, starts, points, power)[1]
        targets = windowed(positions, starts, curvature)
        coarse = windowed(positions, starts, window_weights(times, starts, points, power, every=2)[1], every=2)
        unresolved = np.linalg.norm(targets - coarse, axis=-1).max(axis=-1)  # [S, W]
        error = np.hypot(noise * np.sqrt(np.sum(curvature**2, axis=-1)), unresolved)
        rows.append(targets / np.where(error > 0, error, 1.0)[..., None, None])
    return np.concatenate(rows, axis=1)


def relative_target_noise(positions: np.ndarray, times: np.ndarray, noise: float, points: int,
                          power: int = POWER) -> float:
    """Estimated noise of a particle's weak target (a vector) over the median size of the targets,
    for windows of `points` on positions [S, T, n, d] with position noise `noise`. The median, not
    the RMS: close encounters have targets 10³ times the typical ones, and every particle counts
    alike in the loss."""
    starts = window_starts(positions.shape[1], points, points)
    _, curvature = window_weights(times, starts, points, power)
    noise_rms = noise * math.sqrt(positions.shape[-1] * float(np.mean(np.sum(curvature**2, axis=-1))))
    size = float(np.median(np.linalg.norm(windowed(positions, starts, curvature), axis=-1)))
    return noise_rms / size if size > 0 else math.inf


def median_acceleration(positions: np.ndarray, times: np.ndarray) -> float:
    """The median size of the weak targets (φ-weighted mean accelerations) of the windows
    `choose_windows` picks, on up to SELECTION_SYSTEMS systems: a typical acceleration that noise
    does not inflate, unlike one of accelerations estimated state by state."""
    sample = _spread_systems(len(positions))
    choice = choose_windows(positions[sample], times[sample])
    starts = window_starts(positions.shape[1], choice.points, choice.stride)
    targets = weak_targets(positions[sample], times[sample], starts, choice.points, choice.power)
    return float(np.median(np.linalg.norm(targets, axis=-1)))


def _spread_systems(systems: int) -> np.ndarray:
    """Up to SELECTION_SYSTEMS system indices spread over `systems`."""
    return np.unique(np.linspace(0, systems - 1, min(systems, SELECTION_SYSTEMS)).astype(int))


def choose_windows(positions: np.ndarray, times: np.ndarray, longest: int | None = None,
                   power: int = POWER) -> WindowChoice:
    """The windows for positions [S, T, n, d] at times [S, T]: the shortest of `WINDOW_POINTS` (and
    `longest` itself) whose targets' estimated noise is at most TARGET_NOISE of their median size,
    else the one with the smallest relative noise; at most `longest` points (default: the stored
    steps). Judged on up to SELECTION_SYSTEMS systems spread over the data."""
    steps = positions.shape[1]
    longest = steps if longest is None else min(longest, steps)
    sample = _spread_systems(len(positions))
    positions, times = positions[sample], times[sample]
    noise = estimate_position_noise(positions, times)
    candidates = [p for p in WINDOW_POINTS if p < longest] + [longest]  # the whole trajectory last
    best = None
    for points in candidates:
        relative = relative_target_noise(positions, times, noise, points, power)
        if best is None or relative < best[1]:
            best = (points, relative)
        if relative <= TARGET_NOISE:
            best = (points, relative)
            break
    points, relative = best
    half_width = float(np.median(times[:, points - 1:] - times[:, : steps - points + 1]) / 2)
    # windows side by side: every state's noise enters one target, so targets are independent samples
    return WindowChoice(points, points, power, half_width, float(noise), float(relative))
