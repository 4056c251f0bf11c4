"""Expression utilities shared by every read-out: rounding, pruning of tiny terms, printing."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy

def round_significant(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant digits (0 stays 0)."""
    return float(f"{value:.{digits}g}")


def _tidy_number(value: sympy.Float, digits: int) -> sympy.Expr:
    rounded = round_significant(float(value), digits)
    return sympy.Integer(int(rounded)) if rounded == int(rounded) else sympy.Float(rounded)


def _round_numbers(expr: sympy.Expr, digits: int) -> sympy.Expr:
    """Round every float, inside functions and exponents too; integral ones become integers."""
    return expr.xreplace({f: _tidy_number(f, digits) for f in expr.atoms(sympy.Float)})


def _drop_small_terms(expr: sympy.Expr, drop_below: float) -> sympy.Expr:
    kept = []
    for term in sympy.Add.make_args(expr):
        coefficient, _ = term.as_coeff_Mul()
        if coefficient.is_number and abs(float(coefficient)) < drop_below:
            continue
        kept.append(term)
    return sympy.Add(*kept)


def clean_expression(expr: sympy.Expr, digits: int = 3, drop_below: float = 1e-2) -> sympy.Expr:
    """Expand, round numbers, merge terms that became identical, drop tiny terms.

    The result stays an expanded sum (so callers can read its terms), with products of
    exponentials merged. Additive terms whose coefficient is below `drop_below` go; integral
    floats become integers so `1.0*x**2.0` prints as `x**2`.
    """
    expr = sympy.expand(_round_numbers(sympy.sympify(expr), digits))
    expr = _drop_small_terms(expr, drop_below)
    return _round_numbers(sympy.powsimp(expr, deep=True, combine="exp"), digits)


def to_string(expr: sympy.Expr) -> str:
    """Plain text that `sympy.sympify` parses back to the same expression."""
    return sympy.sstr(expr)


def to_latex(expr: sympy.Expr) -> str:
    return sympy.latex(expr)


def snap_numbers(expr: sympy.Expr, rel_tolerance: float = 5e-3, max_denominator: int = 10) -> sympy.Expr:
    """Replace each float by the nearest simple number (p/q or p/q*pi, q <= `max_denominator`)
    within `rel_tolerance`, so a formula rounded for printing can be compared with an exact one."""

    def snap(value: sympy.Float) -> sympy.Expr:
        v = float(value)
        candidates = [
            factor * sympy.Rational(round(v / float(factor) * q), q)
            for factor in (sympy.Integer(1), sympy.pi)
            for q in range(1, max_denominator + 1)
        ]
        best = min(candidates, key=lambda c: abs(float(c) - v))
        return best if abs(float(best) - v) <= rel_tolerance * abs(v) else value

    return expr.xreplace({f: snap(f) for f in expr.atoms(sympy.Float)})


def matches_up_to_constant(found: sympy.Expr, truth: sympy.Expr, symbols, rng=None) -> str | None:
    """SRBench-style exact recovery: "difference" if found - truth is constant, "ratio" if
    found / truth is a non-zero constant, else None. Numbers in `found` are snapped first.

    sympy decides when it can; otherwise the candidate constant is checked numerically on points
    spread far beyond the usual training range (|x| <= 3), to near machine precision.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    snapped = snap_numbers(sympy.sympify(found))
    points = rng.uniform(-3, 3, size=(len(symbols), 2000))
    for kind, combination in (("difference", snapped - truth), ("ratio", snapped / truth)):
        simplified = sympy.simplify(combination)
        if not simplified.free_symbols & set(symbols):
            if kind == "difference" or simplified != 0:
                return kind
            continue
        with np.errstate(all="ignore"):
            values = np.asarray(sympy.lambdify(symbols, combination, "numpy")(*points), dtype=float)
        values = np.broadcast_to(values, points.shape[1:])
        values = values[np.isfinite(values)]
        if len(values) > len(points[0]) // 2 and np.ptp(values) <= 1e-9 * max(1.0, np.abs(values).max()):
            if kind == "difference" or np.abs(values).min() > 0:
                return kind
    return None


def _axis_rank(term: sympy.Expr, axes: Sequence[sympy.Symbol]) -> int:
    present = [i for i, axis in enumerate(axes) if term.has(axis)]
    return present[0] if present else len(axes)


def canonical_form(exprs: Sequence[sympy.Expr], axes: Sequence[sympy.Symbol], digits: int = 3,
                   drop_below: float = 1e-2) -> list[sympy.Expr]:
    """Undo an arbitrary invertible linear mixing of `exprs` (DESIGN.md §3).

    The expressions are written over their common additive terms (constants dropped: offsets are
    not identifiable), the coefficient matrix is brought to reduced row echelon form with the
    terms ordered by axis (dx terms first, then dy, ...), and each row is scaled so its leading
    coefficient is 1. A rotated spring pair becomes `dx - dx/r`, `dy - dy/r`, deterministically.
    """
    expanded = [sympy.expand(e) for e in exprs]
    coefficients: list[dict] = []
    for expr in expanded:
        row = {}
        for term in sympy.Add.make_args(expr):
            coefficient, monomial = term.as_coeff_Mul()
            if monomial.is_number:
                continue
            row[monomial] = row.get(monomial, 0.0) + float(coefficient)
        coefficients.append(row)
    terms = sorted({t for row in coefficients for t in row}, key=lambda t: (_axis_rank(t, axes), sympy.default_sort_key(t)))
    if not terms:
        return [sympy.Integer(0) for _ in exprs]
    matrix = np.array([[row.get(t, 0.0) for t in terms] for row in coefficients])
    reduced = _reduced_row_echelon(matrix)
    canonical = []
    for row in reduced:
        expr = sympy.Add(*[sympy.Float(c) * t for c, t in zip(row, terms)])
        canonical.append(clean_expression(expr, digits=digits, drop_below=drop_below))
    return canonical


def _reduced_row_echelon(matrix: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """RREF with partial pivoting; entries below `tolerance` x the largest are treated as zero."""
    a = matrix.astype(float).copy()
    rows, cols = a.shape
    scale = np.abs(a).max() if a.size else 1.0
    pivot_row = 0
    for col in range(cols):
        if pivot_row >= rows:
            break
        best = pivot_row + int(np.argmax(np.abs(a[pivot_row:, col])))
        if abs(a[best, col]) <= tolerance * scale:
            continue
        a[[pivot_row, best]] = a[[best, pivot_row]]
        a[pivot_row] /= a[pivot_row, col]
        for other in range(rows):
            if other != pivot_row:
                a[other] -= a[other, col] * a[pivot_row]
        pivot_row += 1
    a[np.abs(a) < tolerance] = 0.0
    return a


def drop_negligible_terms(expr: sympy.Expr, values: dict[str, np.ndarray], relative: float = 1e-2) -> sympy.Expr:
    """Drop the additive terms that together change the expression by < `relative` of its RMS on `values`.

    A coefficient's size says little when its term multiplies large or small variables; the
    terms' effect on real data says how much they matter. Terms go smallest first, as a group,
    so small terms that cancel each other go too.
    """
    terms = sympy.Add.make_args(sympy.expand(expr))
    if len(terms) < 2:
        return expr
    names = sorted(values)
    symbols = [sympy.Symbol(n) for n in names]
    arrays = [values[n] for n in names]

    def evaluate(e: sympy.Expr) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(sympy.lambdify(symbols, e, "numpy")(*arrays), float), arrays[0].shape)

    def rms(a: np.ndarray) -> float:
        return float(np.sqrt(np.nanmean(a**2)))

    term_values = [evaluate(t) for t in terms]
    budget = relative * rms(sum(term_values))
    dropped = np.zeros_like(term_values[0])
    kept = list(range(len(terms)))
    for i in sorted(kept, key=lambda i: rms(term_values[i])):
        if rms(dropped + term_values[i]) >= budget:
            break
        dropped = dropped + term_values[i]
        kept.remove(i)
    return sympy.Add(*[terms[i] for i in kept])
