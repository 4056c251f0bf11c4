"""SRBench's judging rule, shared by the formula benchmarks (`feynman.py`, `sr_suites.py`).

A problem is anything with `symbols` (x0, x1, ...), `evaluate(X)` (the truth on the rows of X)
and `sample(n, rng, widen=1.0)` (n rows of its ranges, widened about their centres, and the
truth on them). Judged per found formula:

- symbolic solution (SRBench): numbers snapped to p/q or p/q*pi within 0.5 % and the rest rounded
  to 3 significant digits, the difference or the ratio to the truth is constant (spread <= 1e-6
  of its size on 2,000 points of the ranges);
- R^2 on 2,000 fresh points of the ranges;
- extrapolation: RMSE / std of the truth on 2,000 points of ranges 1.5x as wide.
"""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import sympy

from eqlearn.symbolic import round_significant, snap_numbers

N_TEST = 2000
WIDEN = 1.5


def rounded(expr: sympy.Expr, snap: bool = True) -> sympy.Expr:
    """Numbers snapped to simple values (p/q, p/q*pi) unless `snap` is False, the others rounded
    to 3 significant digits."""
    snapped = snap_numbers(expr) if snap else expr
    return snapped.xreplace({f: sympy.Float(round_significant(float(f), 3)) for f in snapped.atoms(sympy.Float)})


def symbolic_solution(found: sympy.Expr, problem, X: np.ndarray) -> str:
    """'difference' or 'ratio' when found - truth or found / truth is constant on X, else ''; the
    found numbers are snapped to simple values, or (for truths written in decimals, 2.13 log|x|,
    which snapping would turn into 32/15) only rounded."""
    for snap in (True, False):
        kind = _constant_gap(rounded(found, snap), problem, X)
        if kind:
            return kind
    return ""


def _constant_gap(candidate: sympy.Expr, problem, X: np.ndarray) -> str:
    truth = problem.evaluate(X)
    with np.errstate(all="ignore"):
        values = np.broadcast_to(np.asarray(
            sympy.lambdify(problem.symbols, candidate, "numpy")(*X.T), dtype=complex), truth.shape)
    if not np.isfinite(values).all() or np.abs(values.imag).max() > 0:
        return ""
    values = values.real
    for kind, combination in (("difference", values - truth), ("ratio", values / truth)):
        if kind == "ratio" and np.abs(values).min() == 0:
            continue
        spread = np.ptp(combination) / max(1e-12, np.abs(combination).max())
        if np.isfinite(spread) and spread <= 1e-6:
            return kind
    return ""


def scores(found: sympy.Expr, problem, rng: np.random.Generator) -> dict:
    """The symbolic solution, R^2 and extrapolation NRMSE of `found` on fresh points of `problem`."""
    function = sympy.lambdify(problem.symbols, found, "numpy")

    def predict(X):
        with np.errstate(all="ignore"):
            values = np.asarray(function(*X.T), dtype=complex)
        values = np.broadcast_to(values, X.shape[:1])
        return np.where(np.abs(values.imag) > 0, np.nan, values.real)

    X_test, y_test = problem.sample(N_TEST, rng)
    X_wide, y_wide = problem.sample(N_TEST, rng, widen=WIDEN)
    with np.errstate(all="ignore"):
        r2 = 1 - np.mean((predict(X_test) - y_test) ** 2) / y_test.var()
        extrapolation = np.sqrt(np.mean((predict(X_wide) - y_wide) ** 2)) / y_wide.std()
    return {"solution": symbolic_solution(found, problem, X_test), "r2": _finite(r2),
            "extrapolation_nrmse": _finite(extrapolation)}


def unjudged() -> dict:
    """The scores of a method that failed to return a formula."""
    return {"solution": "", "r2": None, "extrapolation_nrmse": None}


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def commit(*paths: str) -> str:
    """The short git commit, with '+dirty' when src/ or `paths` have uncommitted changes."""
    here = Path(__file__).parent
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", *paths],
                           capture_output=True, text=True, cwd=here).stdout.strip()
    return head + ("+dirty" if dirty else "")
