"""The numbers of an exact formula, written as exactly as the data pin them.

`EQLRegressor` prints numbers to 3 significant digits and predicts with what it prints. Where the
held-out rows prove a formula exact (`eqlearn.eql.selection.EXACT_ERROR`), a number that 3 digits
cannot write (14.2/3 = 4.7333..., 24.3 * 3/5 = 14.58, a rate 0.54723748542) would turn the law
back into an approximation: 0.23 + 4.73 (x1 + x3)/x4 has R^2 0.9999995 where the data allow 1.
Such a number is written as the simplest one it equals to within `PINNED`: a fraction p/q, or
p/q * pi or p/(q pi), with q <= `MAX_DENOMINATOR`, else a decimal with the digits it needs. On
noisy data no formula is exact, and every number keeps its 3 digits.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable

import numpy as np
import sympy

from eqlearn.eql.candidates import formula_error
from eqlearn.eql.selection import EXACT_ERROR
from eqlearn.symbolic import round_significant

#: Relative difference within which a number of an exact fit *is* the simpler one. An exact fit
#: pins its numbers to ~1e-12; a fraction with q <= 100 lands within 1e-9 of an arbitrary number
#: by chance about once in 10^5 tries (and the formula is checked after writing anyway).
PINNED = 1e-9
MAX_DENOMINATOR = 100
MAX_DIGITS = 15
_FACTORS = (sympy.Integer(1), sympy.pi, 1 / sympy.pi)


def simplest_number(value: float, digits: int) -> sympy.Expr:
    """`value` rounded to `digits` significant digits where that is within `PINNED` of it, else
    the fraction (times pi^-1, 1 or pi) or the shortest decimal that is."""
    if value == 0 or not np.isfinite(value):
        return sympy.Float(value)
    window = PINNED * abs(value)
    rounded = round_significant(value, digits)
    if abs(rounded - value) <= window:
        return sympy.Integer(int(rounded)) if rounded == int(rounded) else sympy.Float(rounded)
    for factor in _FACTORS:
        fraction = Fraction(value / float(factor)).limit_denominator(MAX_DENOMINATOR)
        if abs(float(fraction) * float(factor) - value) <= window:
            return sympy.Rational(fraction.numerator, fraction.denominator) * factor
    for more in range(digits + 1, MAX_DIGITS + 1):
        if abs(round_significant(value, more) - value) <= window:
            return _rounded(sympy.Float(value), more)
    return sympy.Float(value, MAX_DIGITS)


def written_exactly(formula: sympy.Expr, digits: int) -> sympy.Expr:
    """Every float of `formula` (cleaned at full precision) written by `simplest_number`."""
    return formula.xreplace({f: simplest_number(float(f), digits) for f in formula.atoms(sympy.Float)})


def exact_formula(unrounded: sympy.Expr, rounded: sympy.Expr, clean: Callable[[sympy.Expr, int], sympy.Expr],
                  digits: int, symbols, X: np.ndarray, y: np.ndarray) -> sympy.Expr:
    """The formula to print for an exact fit: `unrounded` cleaned at full precision with its
    numbers written exactly (`written_exactly`) where that stays exact on (X, y); else each number
    with the fewest digits that keep it exact (a coefficient the data pin only to 1e-7 prints
    with 8 digits, not 15); else `rounded`. `clean(formula, digits)` is the regressor's cleaning."""
    full = clean(unrounded, MAX_DIGITS)
    exact = lambda formula: formula_error(formula, symbols, X, y) <= EXACT_ERROR
    written = written_exactly(full, digits)
    if exact(written):
        return written
    if not exact(full):
        return rounded
    for number in sorted(full.atoms(sympy.Float), key=lambda f: -abs(float(f))):
        full = full.xreplace({number: _fewest_digits(number, digits, lambda n: exact(full.xreplace({number: n})))})
    return full


def _fewest_digits(number: sympy.Float, digits: int, stays_exact: Callable[[sympy.Expr], bool]) -> sympy.Expr:
    """`simplest_number` where it keeps the formula exact, else the number rounded to the fewest
    significant digits that do (bisection: more digits never hurt)."""
    simplest = simplest_number(float(number), digits)
    if stays_exact(simplest):
        return simplest
    low, high = digits, MAX_DIGITS  # `high` digits keep it exact, `low` do not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if stays_exact(_rounded(number, middle)) else (middle, high)
    return _rounded(number, high) if high < MAX_DIGITS else number


def _rounded(number: sympy.Float, digits: int) -> sympy.Float:
    return sympy.Float(f"{float(number):.{digits}g}", digits)
