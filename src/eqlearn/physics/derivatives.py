"""Velocities and accelerations estimated from observed positions alone.

Each coordinate of each particle is fitted, around every time point, by a polynomial of degree
`polyorder` over `window` neighbouring time points (least squares); the fit's derivatives at the
point are the estimates. For evenly spaced times this is the Savitzky–Golay filter
(`scipy.signal.savgol_filter`, fast); for uneven times the same fit is made with the actual times.
At both ends of a trajectory the window stops at the edge and the end points are read from that
window's fit (savgol's mode="interp").

The window is chosen from the data, not from any known law: a longer window averages noise away
but bends less with the trajectory. For every candidate window, the noise part of the acceleration
error is the position noise (estimated from high-order differences) times the filter's gain, and
the bias part is the difference between the degree-`polyorder` fit and a degree-`polyorder + 2`
fit on the same window (whose bias is far smaller), less the noise in that difference. The window
with the smallest sum of squares wins; with noise-free data that is the shortest. The winning
estimate of the root-mean-square error, relative to the RMS acceleration, is what the run reports.
Measured in benchmarks/results/derivatives.md.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from eqlearn.errors import UserInputError

#: Degree of the local polynomial: 4 keeps the bias of the second derivative small at short windows.
POLYORDER = 4
#: The fewest time points from which accelerations are estimated (a degree-4 fit needs 5).
MIN_TIMES = 5
#: Candidate windows (odd numbers of time points), the shortest first.
WINDOWS = (7, 9, 11, 13, 15, 17, 21, 25, 31, 37, 45, 55, 67, 81, 101, 121, 151, 201)
#: Spacings that differ by less than this fraction of the step count as even.
EVEN_TOLERANCE = 1e-6
#: Series (systems) on which the window is chosen; the chosen window is then applied to all.
SELECTION_SYSTEMS = 64
#: Median of a chi-square variable with one degree of freedom: median(z²) for z ~ N(0, 1).
_CHI2_MEDIAN = 0.454936423119572
#: Orders of the differences from which the position noise is estimated.
_DIFFERENCE_ORDERS = range(3, 9)


@dataclass(frozen=True)
class DerivativeEstimate:
    """How the accelerations were estimated and how good they are thought to be."""

    method: str  # "savitzky-golay" (evenly spaced times) or "local-polynomial" (uneven times)
    window: int  # time points per local fit
    polyorder: int  # degree of the local polynomial
    position_noise: float  # estimated standard deviation of the noise on each position coordinate
    relative_acceleration_error: float  # estimated RMS error / RMS of the estimated accelerations
    velocities_estimated: bool  # False when the data carried their own velocities

    def as_dict(self) -> dict:
        return asdict(self)


def complete_derivatives(trajectories):
    """`trajectories` with accelerations (and velocities, if absent) estimated from the positions,
    and `meta["derivatives"]` saying how (a `DerivativeEstimate` as a dict). Data that carry their
    accelerations come back unchanged."""
    if trajectories.accelerations is not None:
        return trajectories
    if trajectories.times is None:
        raise UserInputError("accelerations are missing and there are no times to estimate them from")
    positions = trajectories.continuous_positions  # in a periodic box: the path taken, not the jumps by L
    times = np.asarray(trajectories.system_times, dtype=np.float64)
    steps = positions.shape[1]
    if steps < MIN_TIMES:
        raise UserInputError(f"{steps} time points per system: estimating accelerations needs at least {MIN_TIMES}")
    estimate, accelerations, velocities = estimate_derivatives(positions, times)
    estimate = replace(estimate, velocities_estimated=trajectories.velocities is None)
    meta = {**trajectories.meta, "derivatives": estimate.as_dict()}
    return replace(trajectories, accelerations=accelerations, meta=meta,
                   velocities=velocities if trajectories.velocities is None else trajectories.velocities)


def estimate_derivatives(positions: np.ndarray, times: np.ndarray):
    """(DerivativeEstimate, accelerations, velocities) for positions [S, T, ...] at times [S, T].
    Noise and window are judged on up to `SELECTION_SYSTEMS` systems spread over the data set."""
    even = evenly_spaced(times)
    sample = np.unique(np.linspace(0, len(positions) - 1, min(len(positions), SELECTION_SYSTEMS)).astype(int))
    noise = estimate_position_noise(positions[sample], times[sample])
    window, polyorder, error, scale = choose_window(positions[sample], times[sample], noise, even)
    accelerations = differentiate(positions, times, window, polyorder, 2, even)
    velocities = differentiate(positions, times, window, polyorder, 1, even)
    estimate = DerivativeEstimate("savitzky-golay" if even else "local-polynomial", window, polyorder,
                                  float(noise), float(error / scale) if scale > 0 else float("inf"), True)
    return estimate, accelerations, velocities


def evenly_spaced(times: np.ndarray) -> bool:
    """Whether every system's times [S, T] are evenly spaced (each system may have its own step)."""
    steps = np.diff(times, axis=1)
    return bool(np.all(np.abs(steps - steps[:, :1]) <= EVEN_TOLERANCE * steps[:, :1]))


def estimate_position_noise(positions: np.ndarray, times: np.ndarray) -> float:
    """Standard deviation of white noise on the positions, from k-th order divided differences.

    The divided difference over k + 1 consecutive points, scaled to unit gain, has the noise's
    standard deviation plus a bias ~ h^k x^(k) that falls with k for a well-sampled trajectory.
    The robust (median) estimate is taken for k = 3..8 and the smallest kept: an upper bound that
    is tight once some order has made the trajectory's own curvature negligible.
    """
    steps = positions.shape[1]
    estimates = []
    for order in _DIFFERENCE_ORDERS:
        if order >= steps:
            break
        weights = _unit_difference_weights(times, order)  # [S, T - order, order + 1]
        windows = np.stack([positions[:, j:steps - order + j] for j in range(order + 1)], axis=2)
        residuals = np.einsum("stk,stk...->st...", weights, windows)
        estimates.append(math.sqrt(float(np.median(residuals ** 2)) / _CHI2_MEDIAN))
    return min(estimates)


def _unit_difference_weights(times: np.ndarray, order: int) -> np.ndarray:
    """Weights [S, T - order, order + 1] of the divided differences of `order` over consecutive
    times, each row scaled to unit Euclidean norm (so white noise keeps its standard deviation)."""
    steps = times.shape[1]
    points = np.stack([times[:, j:steps - order + j] for j in range(order + 1)], axis=2)
    gaps = points[..., :, None] - points[..., None, :]
    np.einsum("...ii->...i", gaps)[...] = 1.0
    weights = 1.0 / np.prod(gaps, axis=-1)
    return weights / np.linalg.norm(weights, axis=-1, keepdims=True)


def choose_window(positions, times, noise: float, even: bool):
    """(window, polyorder, estimated RMS acceleration error, RMS acceleration) minimising the
    estimated error over `WINDOWS` (see the module docstring)."""
    steps = positions.shape[1]
    if steps < WINDOWS[0]:  # too short to compare degrees p and p + 2: compare p - 2 and p instead
        window = steps - (steps + 1) % 2
        rough = differentiate(positions, times, window, POLYORDER - 2, 2, even)
        fine = differentiate(positions, times, window, POLYORDER, 2, even)
        error = math.sqrt(_mean_square(rough - fine) + (noise * _gain(times, window, POLYORDER)) ** 2)
        return window, POLYORDER, error, math.sqrt(_mean_square(fine))
    best = None
    for window in (w for w in WINDOWS if w <= steps):
        fitted = differentiate(positions, times, window, POLYORDER, 2, even)
        finer = differentiate(positions, times, window, POLYORDER + 2, 2, even)
        difference_noise = noise * _gain(times, window, POLYORDER, POLYORDER + 2)
        bias_squared = max(0.0, _mean_square(fitted - finer) - difference_noise ** 2)
        error = math.sqrt(bias_squared + (noise * _gain(times, window, POLYORDER)) ** 2)
        if best is None or error < best[2]:
            best = (window, POLYORDER, error, math.sqrt(_mean_square(fitted)))
    return best


def _mean_square(values: np.ndarray) -> float:
    return float(np.mean(np.square(values)))


def _gain(times, window: int, polyorder: int, minus_polyorder: int | None = None) -> float:
    """RMS over time points of the norm of the second-derivative weights: the factor by which
    white position noise of unit standard deviation reaches the accelerations. With
    `minus_polyorder`, the gain of the difference between the two fits. Judged on two systems:
    every point near the ends (where the gain is largest) and up to 64 points in between."""
    times = times[:2]
    steps, edge = times.shape[1], window // 2
    interior = np.unique(np.linspace(edge, steps - edge - 1, min(max(steps - 2 * edge, 0), 64)).astype(int))
    ends = np.r_[0:min(edge, steps), max(steps - edge, edge):steps]
    squares = []
    for points in (ends, interior):
        weights = derivative_weights(times, window, polyorder, 2, points)[0]
        if minus_polyorder is not None:
            weights = weights - derivative_weights(times, window, minus_polyorder, 2, points)[0]
        squares.append(np.sum(weights ** 2, axis=-1))
    interior_count = steps - len(ends)
    total = squares[0].sum(axis=-1) + (squares[1].mean(axis=-1) * interior_count if len(interior) else 0.0)
    return math.sqrt(float(np.mean(total)) / steps)


def derivative_weights(times: np.ndarray, window: int, polyorder: int, deriv: int, points=None):
    """(weights [S, P, window], starts [P]) for time points `points` (default: all T): the
    `deriv`-th derivative at point i of the least-squares polynomial of degree `polyorder` through
    the `window` points from starts[i] is sum_j weights[s, i, j] * x[s, starts[i] + j]. Windows
    are centred, clipped at the ends of the trajectory."""
    steps = times.shape[1]
    points = np.arange(steps) if points is None else np.asarray(points)
    starts = np.clip(points - window // 2, 0, steps - window)
    local = (times[:, starts[:, None] + np.arange(window)] - times[:, points, None]).reshape(-1, window)
    scale = np.max(np.abs(local), axis=-1, keepdims=True)
    weights = np.empty_like(local)
    block = max(1, 2 ** 20 // (window * (polyorder + 1)))  # fits at a time, to bound memory
    for first in range(0, len(local), block):
        part = slice(first, first + block)
        design = np.vander((local[part] / scale[part]).ravel(), polyorder + 1, increasing=True)
        design = design.reshape(-1, window, polyorder + 1)  # [B, window, p + 1]
        weights[part] = np.linalg.pinv(design)[:, deriv]  # SVD: safe where nearly equal times crowd a window
    weights *= math.factorial(deriv) / scale ** deriv
    return weights.reshape(len(times), len(points), window), starts


def differentiate(positions: np.ndarray, times: np.ndarray, window: int, polyorder: int, deriv: int,
                  even: bool) -> np.ndarray:
    """The `deriv`-th time derivative of positions [S, T, ...] at times [S, T] by local polynomial
    fits of `window` points and degree `polyorder` (Savitzky–Golay when `even`), in float64."""
    if even:
        spacing = (times[:, 1] - times[:, 0]).reshape((-1, 1) + (1,) * (positions.ndim - 2))
        from scipy.signal import savgol_filter  # imported where used: scipy.signal takes a second to import

        smoothed = savgol_filter(positions, window, polyorder, deriv=deriv, delta=1.0, axis=1, mode="interp")
        return smoothed / spacing ** deriv
    shared = bool(np.all(times == times[:1]))
    if shared:
        weights, starts = derivative_weights(times[:1], window, polyorder, deriv)
    result = np.empty(positions.shape, dtype=np.float64)
    chunk = max(1, 2 ** 22 // (positions[0].size * window))  # systems at a time, to bound memory
    for first in range(0, len(positions), chunk):
        part = slice(first, first + chunk)
        if not shared:
            weights, starts = derivative_weights(times[part], window, polyorder, deriv)
        gathered = positions[part][:, starts[:, None] + np.arange(window)]  # [s, T, window, ...]
        result[part] = np.einsum("stw,stw...->st...", np.broadcast_to(weights, gathered.shape[:3]), gathered)
    return result
