"""PySINDy's weak SINDy over pair features: the well-kept-library baseline of benchmarks/noise.py.

The law is sought as one sparse sum of pair terms shared by every particle, axis and system,

    a_i = Σ_j Σ_k (c_k + c'_k m_i m_j + c''_k q_i q_j) u_ij r_ij^k / m_i,   k = -4 … 2,

with u_ij = Δ_ij / |Δ_ij| and r = |Δ| + ε (eqlearn's message variables; ε the file's softening).
Nothing is differentiated: both sides are integrated against PySINDy's test functions (its
WeakPDELibrary: bumps (1 - s²)^p on windows of the record), the left side by parts twice,
∫ φ ẍ dt = ∫ φ'' x dt, as in weak SINDy for interacting particles (Messenger & Bortz, Physica D
2022). PySINDy's STLSQ picks the terms within weak SINDy's MSTLS bounds and its threshold by MSTLS's
loss (Messenger & Bortz, J. Comput. Phys. 2021): the relative loss plus the fraction of terms kept.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import sympy

from eqlearn.symbolic import round_significant
from eqlearn.vocabulary.symbols import DELTA, distance, m1, m2, q1, q2, r

PYSINDY_MISSING = 'the PySINDy baseline needs PySINDy 2: pip install "eqlearn[noise]"'
#: Powers k of r in the pair terms u r^k.
POWERS = tuple(range(-4, 3))
#: Test functions: half-widths as fractions of the record's span (several scales, the same rule for
#: every file), windows of each, and the degree p of (1 - s²)^p.
HALF_WIDTHS = (0.45, 0.25, 0.125)
WINDOWS = 50
#: Steps a window must span at least (PySINDy redraws a window until it holds two samples).
MIN_WINDOW_STEPS = 4
DEGREE = 4
#: MSTLS thresholds λ tried (on coefficients in the data's units and relative to |b| / |G_j|).
THRESHOLDS = np.logspace(-4, 0, 41)


@dataclass
class WeakSindyLaw:
    """The terms PySINDy kept: (factor, power k, coefficient) of factor · u r^k, a force."""

    terms: list[tuple[str, int, float]]
    threshold: float
    residual: float  # relative least-squares residual of the weak system with every term

    def messages(self, dim: int, softening: float) -> list[sympy.Expr]:
        """The law as eqlearn's messages: the force on particle 1 from 2 along each axis, written
        as eqlearn writes its refitted laws (a sum of terms c · factor · d r^k / |Δ|, each
        coefficient rounded to 3 significant digits)."""
        factors = {"1": sympy.Integer(1), "m1*m2": m1 * m2, "q1*q2": q1 * q2}
        return [sympy.Add(*[round_significant(c, 3) * factors[f] * d * r**k / distance(softening) for f, k, c in self.terms])
                for d in DELTA[:dim]]


def fit_weak_sindy(positions: np.ndarray, times: np.ndarray, masses: np.ndarray, charges: np.ndarray | None,
                   softening: float, seed: int = 0) -> WeakSindyLaw:
    """The sparse pair law of positions [S, T, n, d] observed at `times` [T], with masses [S, n]
    (and charges [S, n] where the data give them)."""
    features, names = pair_terms(positions, masses, charges, softening)
    usable = [fraction for fraction in HALF_WIDTHS if 2 * fraction * (len(times) - 1) >= MIN_WINDOW_STEPS]
    if not usable:
        raise ValueError(f"{len(times)} time points: too few for test functions of {MIN_WINDOW_STEPS} steps or more")
    rows, targets = [], []
    for fraction in usable:
        integral, second_derivative_integral = test_function_weights(times, fraction, seed)
        targets.append(np.einsum("kt,stnd->ksnd", second_derivative_integral, positions).reshape(-1))
        rows.append(np.einsum("kt,stndf->ksndf", integral, features).reshape(-1, len(names)))
    coefficients, threshold, residual = select_terms(np.concatenate(rows), np.concatenate(targets))
    return WeakSindyLaw([(*name, float(c)) for name, c in zip(names, coefficients) if c != 0], threshold, residual)


def pair_terms(positions: np.ndarray, masses: np.ndarray, charges: np.ndarray | None,
               softening: float) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Σ_j factor_ij u_ij r_ij^k / m_i for every particle i, axis and time: [S, T, n, d, terms],
    and each term's (factor, k)."""
    n = positions.shape[2]
    delta = positions[:, :, :, None, :] - positions[:, :, None, :, :]  # [S, T, i, j, d]: x_i - x_j
    others = ~np.eye(n, dtype=bool)
    length = np.where(others, np.sqrt(np.sum(delta**2, axis=-1)), 1.0)
    unit = np.where(others[..., None], delta / length[..., None], 0.0)
    pair_factors = {"1": np.ones(masses.shape + (n,)), "m1*m2": masses[:, :, None] * masses[:, None, :]}
    if charges is not None:
        pair_factors["q1*q2"] = charges[:, :, None] * charges[:, None, :]
    columns, names = [], []
    for name, factor in pair_factors.items():
        per_receiver_mass = (factor / masses[:, :, None])[:, None]  # [S, 1, i, j]
        for k in POWERS:
            columns.append(np.einsum("stijd,stij->stid", unit, per_receiver_mass * (length + softening) ** k))
            names.append((name, k))
    return np.stack(columns, axis=-1), names


def test_function_weights(times: np.ndarray, half_width_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """PySINDy's quadrature of its test functions: [windows, T] matrices W, W'' with W @ f = ∫ φ f dt
    and W'' @ x = ∫ φ'' x dt for any sampled f, x. Its WeakPDELibrary is linear in the data, so
    transforming the identity gives exactly the weights its `transform` applies to every column
    (which, on hundreds of thousands of columns at once, is slow)."""
    import pysindy as ps
    from pysindy.utils import AxesArray

    steps = len(times)
    state = np.random.get_state()  # PySINDy places its windows with numpy's global generator
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            library = ps.WeakPDELibrary(
                function_library=ps.CustomLibrary(library_functions=[lambda f: f], function_names=[lambda f: f]),
                spatiotemporal_grid=np.asarray(times, dtype=float), implicit_terms=True, derivative_order=2,
                include_interaction=False, K=WINDOWS, H_xt=half_width_fraction * float(times[-1] - times[0]), p=DEGREE)
            weights = np.asarray(library.fit_transform([AxesArray(np.eye(steps), {"ax_time": 0, "ax_coord": 1})])[0])
    finally:
        np.random.set_state(state)
    # columns: ∫ φ e_t, then the library's derivative terms (-1)^k ∫ φ^(k) e_t for k = 1, 2
    return weights[:, :steps], weights[:, 2 * steps:]


def select_terms(rows: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, float]:
    """PySINDy's STLSQ at each of `THRESHOLDS` λ with weak SINDy's MSTLS bounds, the λ chosen by
    its loss |G (w - w_ls)| / |G w_ls| + (terms kept) / (terms). MSTLS keeps term j only where
    |w_j| >= λ max(1, |b| / |G_j|): STLSQ's one threshold does that on columns scaled by
    max(1, |b| / |G_j|). The least squares run on the R of the scaled G's QR factorisation: the
    same solution for every subset of columns as on G itself."""
    import pysindy as ps

    norms = np.linalg.norm(rows, axis=0)
    scales = np.maximum(1.0, np.linalg.norm(target) / np.where(norms > 0, norms, np.inf))
    q, triangle = np.linalg.qr(rows * scales)
    projected = q.T @ target
    least_squares = np.linalg.lstsq(triangle, projected, rcond=None)[0]
    explained = np.linalg.norm(triangle @ least_squares) or 1.0
    best = None
    for threshold in THRESHOLDS:
        optimizer = ps.STLSQ(threshold=threshold, alpha=0.0, max_iter=50)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimizer.fit(triangle, projected)
        weights = optimizer.coef_.ravel()
        loss = np.linalg.norm(triangle @ (weights - least_squares)) / explained + np.count_nonzero(weights) / len(weights)
        if best is None or loss < best[0]:
            best = (loss, float(threshold), weights)
    residual = float(np.sqrt(max(0.0, 1.0 - float(projected @ projected) / float(target @ target or 1.0))))
    return best[2] * scales, best[1], residual
