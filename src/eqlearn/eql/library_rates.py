"""Library factors whose rate is read from the data: sin(w u), cos(w u) and exp(k u).

The fixed factors (sin x, exp(-x^2), ...) hold the textbook formulas, but an oscillation such as
0.3 x sin(2 pi x), a decay 2.1 (1 - e^(-0.55 t)) or a Gaussian e^(-x^2 / 2) needs its rate. For an
argument u (an input; for few inputs also a product or ratio of two) and a trial rate, the best
coefficients of the columns [1, u, f(r u), u f(r u)] are one least-squares solve, so the rate is
a one-dimensional search over that solve's residual (variable projection; Golub and Pereyra
1973): a grid fine for the argument's span, then a bounded refinement of the grid's deepest local
minima. A rate is kept only where it leaves a tenth of the residual of the unit rate the fixed
factors already have and of a polynomial in u with more columns (a slow oscillation or a weak
exponential is a Taylor series in disguise), so most data without such a term get no new
factors and no extra forward runs; a kept factor competes with every other candidate on
held-out error and size. Only the rate is read here: the library's forward runs then multiply
the factor by its monomials (e^(-x^2/2) / s) and fit the coefficients.
"""
from __future__ import annotations

import math

import numpy as np
import sympy
from scipy.optimize import minimize_scalar

from eqlearn.eql.inputs import one_sign_columns
from eqlearn.eql.selection import scaled_lstsq
from eqlearn.symbolic import snap_numbers

#: Trial rates per argument: rate x span from half a period (oscillation) or `LOWEST_EXPONENT`
#: (exponential) up to the sampling's limit (oscillation) or `HIGHEST_EXPONENT` (exponential, whose
#: columns overflow or vanish beyond), in steps fine enough that the residual's minima (about
#: 2 pi / span wide for an oscillation) are not stepped over.
OSCILLATION_GRID = 200
EXPONENTIAL_GRID = 60  # per sign, geometric
LOWEST_EXPONENT = 0.5
HIGHEST_EXPONENT = 40.0
#: An oscillation needs at least this many samples per period to be told from its aliases.
SAMPLES_PER_PERIOD = 4
#: A rate is kept when its residual is below this share of the unit rate's and the polynomial's (a
#: true rate leaves the noise, ~1e-3 of it at 1 %; a rate that only bends a Taylor series 0.1-1).
GAIN = 0.1
#: A found rate within this relative distance of p/q or p/q pi (q <= `DENOMINATOR`) is that number.
SNAP = 1e-6
DENOMINATOR = 12
#: The grid's deepest local minima that are refined, and the rows the search reads.
REFINED = 3
SCAN_ROWS = 256
#: Arguments with fewer distinct values than this have no shape in which to read a rate.
MIN_DISTINCT = 8
#: With at most this many inputs, exponentials of squares, products and ratios of two inputs too.
QUADRATIC_INPUTS = 3


def rate_factors(symbols, x: np.ndarray, y: np.ndarray) -> list[sympy.Expr]:
    """sin(w u), cos(w u) and exp(k u) for the arguments u whose data ask for a rate."""
    if not np.isfinite(y).all():
        return []
    found: list[sympy.Expr] = []
    for argument, column, families in _arguments(symbols, x):
        if len(np.unique(column)) < MIN_DISTINCT:
            continue
        basis = np.column_stack([np.ones_like(column), column])
        for family in families:
            rate = _best_rate(family, column, basis, y)
            if rate is not None:
                found += family.factors(snap_numbers(sympy.Float(rate), SNAP, DENOMINATOR) * argument)
    return found


class _Family:
    """A factor family: its columns at one rate, its grid of trial rates, its sympy factors."""

    def __init__(self, columns, grid, factors):
        self.columns, self.grid, self.factors = columns, grid, factors


def _oscillation_grid(column: np.ndarray) -> np.ndarray:
    span = float(np.ptp(column))
    highest = 2 * np.pi * len(column) / (SAMPLES_PER_PERIOD * span)  # periods the rows can resolve
    return np.linspace(np.pi / span, max(highest, np.pi / span), OSCILLATION_GRID)


def _exponential_grid(column: np.ndarray) -> np.ndarray:
    reach = float(np.max(np.abs(column)))
    magnitudes = np.geomspace(LOWEST_EXPONENT / float(np.ptp(column)), HIGHEST_EXPONENT / reach, EXPONENTIAL_GRID)
    return np.concatenate([-magnitudes[::-1], magnitudes])


_OSCILLATION = _Family(lambda rate, column: [np.sin(rate * column), np.cos(rate * column)], _oscillation_grid,
                       lambda argument: [sympy.sin(argument), sympy.cos(argument)])
_EXPONENTIAL = _Family(lambda rate, column: [np.exp(rate * column)], _exponential_grid,
                       lambda argument: [sympy.exp(argument)])


def _arguments(symbols, x: np.ndarray):
    """(u, its column, its families): every input with both families; for few inputs the
    squares, products and ratios (over an input of one sign) of two, with exponentials
    (Gaussians e^(-k x^2), e^(-k x y), e^(-k x / y))."""
    for i, symbol in enumerate(symbols):
        yield symbol, x[:, i], (_OSCILLATION, _EXPONENTIAL)
    if len(symbols) > QUADRATIC_INPUTS:
        return
    one_sign = one_sign_columns(x)
    for i, a in enumerate(symbols):
        for j, b in enumerate(symbols):
            if j >= i:
                yield a * b, x[:, i] * x[:, j], (_EXPONENTIAL,)
            if j != i and one_sign[j]:
                yield a / b, x[:, i] / x[:, j], (_EXPONENTIAL,)


def _residual(family: _Family, rate: float, column: np.ndarray, basis: np.ndarray, y: np.ndarray) -> float:
    """Least-squares residual of y on [B, B f(rate u)], B = [1, u], relative to y's spread."""
    return _relative_residual(_design(family, rate, column, basis), y)


def _design(family: _Family, rate, column: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """[B, B f(rate u)], B = [1, u], for one rate [rows, columns] or an array of them [rates, rows, columns]."""
    rates = np.asarray(rate, dtype=float)
    with np.errstate(all="ignore"):
        waves = family.columns(rates[..., None], column)
        return np.concatenate([np.broadcast_to(basis, (*rates.shape, *basis.shape)),
                               *(basis * w[..., None] for w in waves)], axis=-1)


def _scan(family: _Family, grid: np.ndarray, column: np.ndarray, basis: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`_residual` at every grid rate at once, by the normal equations of the unit-scaled columns
    (less accurate than `_relative_residual`'s solve, enough to rank the grid)."""
    design = _design(family, grid, column, basis)
    norms = np.linalg.norm(design, axis=1, keepdims=True)
    finite = np.isfinite(design).all(axis=(1, 2)) & (norms > 0).all(axis=(1, 2))
    design = np.where(finite[:, None, None], design / np.where(norms > 0, norms, 1.0), 0.0)
    transposed = design.transpose(0, 2, 1)
    gram = transposed @ design + 1e-12 * np.eye(design.shape[-1])
    projection = transposed @ y
    coefficients = np.linalg.solve(gram, projection[..., None])[..., 0]
    left = np.maximum(float(y @ y) - np.einsum("rc,rc->r", coefficients, projection), 0.0)
    return np.where(finite, left / max(float(np.sum((y - y.mean()) ** 2)), 1e-300), np.inf)


def _polynomial_residual(column: np.ndarray, basis: np.ndarray, y: np.ndarray) -> float:
    """The residual of a polynomial in u (B = [1, u] times 1, u, u^2, u^3: degree 4), richer than
    a slow f(r u)."""
    centred = (column - column.mean()) / max(float(np.ptp(column)), 1e-300)
    return _relative_residual(np.column_stack([basis * centred[:, None] ** k for k in range(4)]), y)


def _relative_residual(design: np.ndarray, y: np.ndarray) -> float:
    if not np.isfinite(design).all():
        return np.inf
    misfit = y - design @ scaled_lstsq(design, y)
    return float(misfit @ misfit) / max(float(np.sum((y - y.mean()) ** 2)), 1e-300)


def _best_rate(family: _Family, column: np.ndarray, basis: np.ndarray, y: np.ndarray) -> float | None:
    """The rate of least residual if it beats the unit rate (which the fixed factors cover) and a
    polynomial by `GAIN`, else None: the grid's `REFINED` deepest local minima, each refined
    between its neighbours (an oscillation's residual has many). On at most `SCAN_ROWS` rows."""
    rows = np.unique(np.linspace(0, len(y) - 1, min(len(y), SCAN_ROWS)).astype(int))
    column, basis, y = column[rows], basis[rows], y[rows]

    def residual(rate: float) -> float:
        return _residual(family, rate, column, basis, y)

    baseline = min(residual(1.0), residual(-1.0), _polynomial_residual(column, basis, y))
    grid = family.grid(column)
    residuals = _scan(family, grid, column, basis, y)
    inner = np.r_[True, residuals[1:] <= residuals[:-1]] & np.r_[residuals[:-1] <= residuals[1:], True]
    minima = [i for i in np.flatnonzero(inner & np.isfinite(residuals)) if residuals[i] < baseline]
    best_rate, least = None, GAIN * baseline
    for i in sorted(minima, key=lambda i: residuals[i])[:REFINED]:
        low, high = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        # The misfit's norm, not its square: where the data follow the family exactly it is
        # V-shaped in the rate, so the search pins the rate to rounding, not to a flat bottom.
        refined = minimize_scalar(lambda rate: math.sqrt(residual(rate)), bounds=(min(low, high), max(low, high)),
                                  method="bounded", options={"xatol": 1e-14 * max(abs(grid[i]), 1e-12)})
        if refined.fun**2 < least and abs(abs(refined.x) - 1.0) >= 1e-3:
            best_rate, least = float(refined.x), refined.fun**2
    return best_rate
