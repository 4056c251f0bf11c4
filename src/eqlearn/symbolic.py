"""Expression utilities shared by every read-out: rounding, pruning of tiny terms, printing."""
from __future__ import annotations

import numpy as np
import sympy

from eqlearn.vocabulary.formula import as_expression


def round_significant(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant digits (0 stays 0)."""
    return float(f"{value:.{digits}g}")


def tidy_number(value: sympy.Float, digits: int) -> sympy.Expr:
    """`value` rounded to `digits` significant digits; an integral result is an integer."""
    rounded = round_significant(float(value), digits)
    return sympy.Integer(int(rounded)) if rounded == int(rounded) else sympy.Float(rounded)


#: Numbers inside an exponential (the rate k of e^(k r)) keep at least this many significant digits:
#: an error δk changes the term by the factor e^(δk r), so a rate of 12.5 rounded to 4 digits moves a
#: steep repulsion (Buckingham's, in units of its contact distance) by 0.3 %, more than the law's error.
RATE_DIGITS = 6


def _round_numbers(expr: sympy.Expr, digits: int) -> sympy.Expr:
    """Round every float, inside functions and exponents too (in exponentials to at least
    RATE_DIGITS); integral ones become integers."""
    rates = {f for e in expr.atoms(sympy.exp) for f in e.args[0].atoms(sympy.Float)}
    return expr.xreplace({f: tidy_number(f, max(digits, RATE_DIGITS) if f in rates else digits)
                          for f in expr.atoms(sympy.Float)})


#: Terms an expression may expand into before a read-out keeps fewer of its weights: an unpruned
#: network's products of sums multiply out into millions of terms (hours of sympy), and no law
#: is that long (`eqlearn.eql.network.EQLNetwork.to_sympy`).
MAX_EXPANDED_TERMS = 1000


def expanded_terms(expr: sympy.Expr, _seen: dict | None = None) -> int:
    """How many terms `sympy.expand(expr)` could produce at most (products of sums multiply their
    counts, integer powers raise them), the largest count inside any function argument included.
    A network's layers share subexpressions, so each is counted once (`_seen`)."""
    seen = {} if _seen is None else _seen
    if expr in seen:
        return seen[expr]
    parts = [expanded_terms(a, seen) for a in expr.args if isinstance(a, sympy.Expr)]
    if expr.is_Add:
        count = sum(parts)
    elif expr.is_Mul:
        count = int(np.prod(parts, dtype=object))
    elif expr.is_Pow and expr.exp.is_Integer and int(expr.exp) > 1:
        count = parts[0] ** min(int(expr.exp), 64)
    else:
        count = max([1, *parts])
    seen[expr] = count
    return count


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
    expr = sympy.expand(_round_numbers(as_expression(expr), digits))
    expr = _drop_small_terms(expr, drop_below)
    return _round_numbers(sympy.powsimp(expr, deep=True, combine="exp"), digits)


def to_string(expr: sympy.Expr) -> str:
    """Plain text that `eqlearn.vocabulary.formula.parse_formula` parses back to the same expression."""
    return sympy.sstr(expr)


def to_latex(expr: sympy.Expr) -> str:
    return sympy.latex(expr)


def snap_numbers(expr: sympy.Expr, rel_tolerance: float = 5e-3, max_denominator: int = 10,
                 references: tuple = ()) -> sympy.Expr:
    """Replace each float by the nearest simple number (p/q or p/q*pi, q <= `max_denominator`)
    within `rel_tolerance`, so a formula rounded for printing can be compared with an exact one.

    `references` are numbers of the formula it is compared with (a law's physical constants, such
    as 48 ε σ¹² of a Lennard-Jones force): a float within the tolerance of one of them (or its
    negative) becomes the nearest such, before any simple number is tried. Large numbers are
    within the tolerance of some p/q (3.3e7 of 131829589/4), and that says nothing."""

    def snap(value: sympy.Float) -> sympy.Expr:
        v = float(value)
        window = rel_tolerance * abs(v)
        near = [sympy.Float(np.copysign(abs(float(c)), v)) for c in references
                if float(c) != 0 and abs(abs(float(c)) - abs(v)) <= window]
        if near:
            return min(near, key=lambda c: abs(float(c) - v))
        simple = [factor * sympy.Rational(round(v / float(factor) * q), q)
                  for factor in (sympy.Integer(1), sympy.pi) for q in range(1, max_denominator + 1)]
        simple = [c for c in simple if abs(float(c) - v) <= window]
        return min(simple, key=lambda c: abs(float(c) - v)) if simple else value

    return expr.xreplace({f: snap(f) for f in expr.atoms(sympy.Float)})


def matches_up_to_constant(found: sympy.Expr, truth: sympy.Expr, symbols, rng=None, snap: bool = True) -> str | None:
    """SRBench-style exact recovery: "difference" if found - truth is constant, "ratio" if
    found / truth is a non-zero constant, else None. Numbers in `found` are snapped first (unless
    `snap` is False: a caller that snapped them where they are as printed, before substituting).

    Decided on 2000 points spread far beyond the usual training range (|x| <= 3): constant to
    near machine precision counts; a combination constant only to 1e-6 counts if sympy can
    simplify it to a constant (floating-point noise). Garbage is never handed to `simplify`,
    which can take minutes on a long expression.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    snapped = snap_numbers(as_expression(found)) if snap else as_expression(found)
    points = rng.uniform(-3, 3, size=(len(symbols), 2000))
    for kind, combination in (("difference", snapped - truth), ("ratio", snapped / truth)):
        if combination.has(sympy.zoo, sympy.nan):  # a piecewise truth, 0 in some range, divides to 1/0 there:
            found_values, true_values = _values(snapped, symbols, points), _values(truth, symbols, points)
            with np.errstate(all="ignore"):  # evaluated apart instead, and never simplified
                values = found_values / true_values if kind == "ratio" else found_values - true_values
            # a ratio says nothing where the truth is 0: there the found law must be 0 as well
            vanishes = _spread_of(np.where(true_values == 0, found_values, 0.0), nonzero=False) <= 1e-9
            if _spread_of(values, nonzero=kind == "ratio") <= 1e-9 and (kind != "ratio" or vanishes):
                return kind
            continue
        spread = _relative_spread(combination, symbols, points, nonzero=kind == "ratio")
        if spread <= 1e-9:
            return kind
        if spread <= 1e-6 and not sympy.simplify(combination).free_symbols & set(symbols):
            return kind
    return None


def _relative_spread(expr: sympy.Expr, symbols, points: np.ndarray, nonzero: bool) -> float:
    """(max - min) / max(1, |values|) of `expr` over `points`; inf where it is not finite on most
    points, or (with `nonzero`) where it touches zero."""
    return _spread_of(_values(expr, symbols, points), nonzero)


def _values(expr: sympy.Expr, symbols, points: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        values = np.asarray(sympy.lambdify(symbols, expr, "numpy")(*points), dtype=float)
    return np.broadcast_to(values, points.shape[1:])


def _spread_of(values: np.ndarray, nonzero: bool) -> float:
    points, values = len(values), values[np.isfinite(values)]
    if len(values) <= points // 2 or (nonzero and np.abs(values).min() == 0):
        return np.inf
    return float(np.ptp(values) / max(1.0, np.abs(values).max()))
