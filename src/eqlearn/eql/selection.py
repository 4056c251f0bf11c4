"""Choosing the simplest formula that fits as well as the best: among restarts, and among the
terms of the output layer. An exact formula is usually also the shortest one that fits."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import sympy
import torch

from eqlearn.eql.network import EQLNetwork

#: A normalised validation MSE counts as good as the best one e if it is at most
#: e * (1 + RELATIVE_TOLERANCE) + ABSOLUTE_TOLERANCE: on noisy data the noise floor decides, on
#: exact data an exact formula (~1e-10) beats a close approximation (~1e-5).
RELATIVE_TOLERANCE = 0.1
ABSOLUTE_TOLERANCE = 1e-6
#: A held-out normalised MSE below this reproduces the data to rounding error: an exact formula
#: (~1e-28 in float64), not an approximation (a degree-9 Taylor series of sin on [-1, 1] is
#: ~1e-15) nor a fit of noisy data.
EXACT_ERROR = 1e-20


def as_good_as(error: float) -> float:
    """The largest error that still counts as good as `error`; for an exact fit, exact (on exact
    data the noise floor would let x + x^2 + 2x beat x^3 + x^2 + x + sin x, 1e-8 against 1e-30)."""
    return EXACT_ERROR if error <= EXACT_ERROR else error * (1 + RELATIVE_TOLERANCE) + ABSOLUTE_TOLERANCE


@torch.no_grad()
def normalised_error(network: EQLNetwork, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """MSE / variance of the target, averaged over outputs; inf for a broken model."""
    variance = targets.var(dim=0, unbiased=False).clamp_min(1e-12)
    error = float((((network(inputs) - targets) ** 2).mean(dim=0) / variance).mean())
    return error if math.isfinite(error) else math.inf


def as_good_as_best(errors: list[float]) -> list[int]:
    """Indices of the models whose error is as good as the lowest one."""
    limit = as_good_as(min(errors))
    return [i for i, e in enumerate(errors) if e <= limit]


@torch.no_grad()
def eliminate_output_terms(network: EQLNetwork, train: tuple, valid: tuple) -> None:
    """Backward elimination on the linear output layer: refit it by least squares, then drop
    terms (last hidden units) one at a time while the validation error stays as good.

    Training by gradient descent leaves small compensating terms (a little `exp(0.2*x)` next to
    `x`); a least-squares refit without them is exact when the remaining terms are.
    """
    output = network.output
    if output.units[0][0].name != "identity":
        return
    (x_train, y_train), (x_valid, y_valid) = train, valid
    h_train, h_valid = (_last_hidden(network, x).double().numpy() for x in (x_train, x_valid))
    for o in range(network.out_features):
        t, v = y_train[:, o].double().numpy(), y_valid[:, o].double().numpy()
        scale = max(float(v.var()), 1e-12)
        active = [int(i) for i in torch.nonzero(output.mask[o]).flatten()]
        refit = lambda kept: refit_columns(h_train, t, h_valid, v, kept, scale)
        active, coef, _ = backward_elimination(refit, active, as_good_as)
        output.mask[o].zero_()
        output.weight[o].zero_()
        output.mask[o, active] = 1.0
        output.weight[o, active] = torch.as_tensor(coef, dtype=output.weight.dtype)


def backward_elimination(fit: Callable[[list[int]], tuple[np.ndarray, float]], active: list[int],
                         limit: Callable[[float], float]) -> tuple[list[int], np.ndarray, float]:
    """Drop terms one at a time, always the one the fit misses least, while the error of
    `fit(kept) -> (coefficients, error)` stays within `limit(error with every term)`.

    Returns the kept terms, their coefficients and the final error.
    """
    active = list(active)
    coefficients, error = fit(active)
    bound = limit(error)
    while len(active) > 1:
        trials = [(fit([a for a in active if a != drop]), drop) for drop in active]
        (trial_coefficients, trial_error), drop = min(trials, key=lambda trial: trial[0][1])
        if trial_error > bound:
            break
        active.remove(drop)
        coefficients, error = trial_coefficients, trial_error
    return active, coefficients, error


def scaled_lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least squares with every column scaled to unit norm first, so columns of very different
    size (x^4 beside 1 on x near 1e3) are not cut off by the solver's rank threshold."""
    norms = np.linalg.norm(design, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    return np.linalg.lstsq(design / norms, target, rcond=None)[0] / norms


def _last_hidden(network: EQLNetwork, x: torch.Tensor) -> torch.Tensor:
    for layer in network.hidden:
        x = layer(x)
    return x


def refit_columns(h_train, t, h_valid, v, active: list[int], scale: float) -> tuple[np.ndarray, float]:
    """Least squares of `t` on the `active` columns of `h_train`; the coefficients and the
    held-out error (MSE on (h_valid, v) / `scale`)."""
    coef = scaled_lstsq(h_train[:, active], t)
    error = float(np.mean((h_valid[:, active] @ coef - v) ** 2)) / scale
    return coef, error if math.isfinite(error) else math.inf


#: Numbers of a read-out formula within this of a multiple of 1/2 are tried at that value
#: (x**0.497 -> sqrt(x)); the refit and the validation error decide whether the snapped form stays.
SNAP_TOLERANCE = 0.1


def snap_to_halves(expr: sympy.Expr, tolerance: float = SNAP_TOLERANCE) -> sympy.Expr:
    """Every float within `tolerance` of a multiple of 1/2 replaced by that exact number
    (`tolerance=0.25` snaps every float)."""
    def snapped(value: sympy.Float) -> sympy.Expr:
        half = sympy.Rational(round(2 * float(value)), 2)
        return half if abs(float(value) - half) <= tolerance else value

    return expr.xreplace({f: snapped(f) for f in expr.atoms(sympy.Float)})


def refit_terms(expr: sympy.Expr, symbols, train: tuple[np.ndarray, np.ndarray],
                valid: tuple[np.ndarray, np.ndarray]) -> tuple[sympy.Expr, float]:
    """Refit the coefficient of every additive term of `expr` by least squares on `train`, then
    drop terms while the error on `valid` stays as good (`backward_elimination`).

    Returns the refitted formula and its normalised validation error. The terms are the
    formula's own: the refit cannot add a shape the network did not produce.
    """
    (x_train, t), (x_valid, v) = train, valid
    kept, h_train, h_valid = term_columns(expr, symbols, x_train, x_valid)
    if not kept:
        return sympy.Integer(0), math.inf
    scale = max(float(v.var()), 1e-12)
    refit = lambda active: refit_columns(h_train, t, h_valid, v, active, scale)
    active, coefficients, error = backward_elimination(refit, list(range(len(kept))), as_good_as)
    formula = sympy.Add(*[sympy.Float(c) * kept[i] for c, i in zip(coefficients, active)])
    return formula, error


def fit_power_law(x: np.ndarray, y: np.ndarray, columns, symbols) -> sympy.Expr | None:
    """The power law c * prod(x_i ** a_i) over the non-negative `columns` of `x`, fitted by least
    squares in log space on the rows where those columns and y are nonzero; None unless y keeps
    one sign there. Rows at x_i = 0 (sqrt(x) from x = 0) are left to the refit, which keeps
    the law only if it holds there too. A candidate beside the networks' read-outs: cheap, and
    exact whenever the formula is a single monomial."""
    rows = (x[:, columns] > 0).all(axis=1) & (y != 0) if len(columns) else np.zeros(len(y), bool)
    if rows.sum() < len(columns) + 2 or not ((y[rows] > 0).all() or (y[rows] < 0).all()):
        return None
    design = np.column_stack([np.log(x[rows][:, columns]), np.ones(int(rows.sum()))])
    solution = np.linalg.lstsq(design, np.log(np.abs(y[rows])), rcond=None)[0]
    if not np.isfinite(solution).all():
        return None
    sign = 1 if (y[rows] > 0).all() else -1
    return sign * sympy.Float(math.exp(solution[-1])) * sympy.Mul(
        *[symbols[i] ** sympy.Float(a) for i, a in zip(columns, solution[:-1])])


def term_columns(expr: sympy.Expr, symbols, x_train: np.ndarray, x_valid: np.ndarray):
    """The distinct additive terms of `expr` (coefficients stripped) and their values on two
    sets of rows, one column per term; a term undefined on the data is no term."""
    shapes = list(dict.fromkeys(term.as_coeff_Mul()[1] for term in sympy.Add.make_args(sympy.expand(expr))))
    kept, train_columns, valid_columns = [], [], []
    for shape in shapes:
        if shape.has(sympy.zoo, sympy.oo, sympy.nan):
            continue
        function = sympy.lambdify(list(symbols), shape, "numpy")
        a, b = _real_values(function, x_train), _real_values(function, x_valid)
        if a is not None and b is not None:
            kept.append(shape)
            train_columns.append(a)
            valid_columns.append(b)
    if not kept:
        return [], None, None
    return kept, np.column_stack(train_columns), np.column_stack(valid_columns)


def _real_values(function, x: np.ndarray) -> np.ndarray | None:
    """`function` on the rows of `x` as finite real numbers, or None (complex, inf or nan)."""
    with np.errstate(all="ignore"):
        values = np.broadcast_to(np.asarray(function(*x.T), dtype=np.complex128), x.shape[:1])
    if not np.isfinite(values).all() or np.any(values.imag != 0):
        return None
    return np.ascontiguousarray(values.real)
