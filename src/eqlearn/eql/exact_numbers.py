"""The numbers of an exact formula, written as exactly as the data pin them.

`EQLRegressor` prints numbers to 3 significant digits and predicts with what it prints. Where the
held-out rows prove a formula exact (`eqlearn.eql.selection.EXACT_ERROR`), a number that 3 digits
cannot write (14.2/3 = 4.7333..., 24.3 * 3/5 = 14.58, a rate 0.54723748542) would turn the law
back into an approximation: 0.23 + 4.73 (x1 + x3)/x4 has R^2 0.9999995 where the data allow 1.
Such a number is written as the shortest one it equals to within `PINNED`: a fraction p/q, or
p/q * pi or p/(q pi), with q <= `MAX_DENOMINATOR`, or a decimal with the digits it needs. On
noisy data no formula is exact, and every number keeps its 3 digits.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable

import numpy as np
import sympy

from eqlearn.eql.candidates import candidate, formula_error
from eqlearn.eql.selection import EXACT_ERROR
from eqlearn.symbolic import round_significant, tidy_number

#: Relative difference within which a number of an exact fit *is* the simpler one. An exact fit
#: pins its numbers to ~1e-12; a fraction with q <= 100 lands within 1e-9 of an arbitrary number
#: near 1 by chance about once in 10^5 tries (more often for large numbers, whose fractions are
#: then longer than their decimals and lose to them), and the formula is checked after writing.
PINNED = 1e-9
MAX_DENOMINATOR = 100
MAX_DIGITS = 17  # a double written with 17 digits is that double
_FACTORS = (sympy.Integer(1), sympy.pi, 1 / sympy.pi)


def simplest_number(value: float, digits: int) -> sympy.Expr:
    """`value` rounded to `digits` significant digits where that is within `PINNED` of it, else
    the shorter (fewer digits) of the fraction p/q, p/q * pi or p/(q pi) and the decimal that are;
    a fraction whose decimal terminates is that decimal: 14.2/3 is 71/15, 14.58 stays 14.58 (not
    729/50), 6.02214076e23 stays a decimal."""
    if value == 0 or not np.isfinite(value):
        return sympy.Float(value)
    within = lambda number: abs(number - value) <= PINNED * abs(value)
    if within(round_significant(value, digits)):
        return tidy_number(value, digits)
    decimal = next((d for d in range(digits + 1, MAX_DIGITS + 1) if within(round_significant(value, d))), MAX_DIGITS)
    fractions = []
    for factor in _FACTORS:
        fraction = Fraction(value / float(factor)).limit_denominator(MAX_DENOMINATOR)
        if factor == 1 and _terminates(fraction.denominator):
            continue  # its decimal is exact: 14.58, not 729/50
        if within(float(fraction) * float(factor)):
            length = len(str(abs(fraction.numerator))) + len(str(fraction.denominator)) + (factor != 1)
            fractions.append((length, sympy.Rational(fraction.numerator, fraction.denominator) * factor))
    shortest = min(fractions, key=lambda f: f[0], default=None)
    if shortest is not None and shortest[0] < _significant_digits(value, decimal):
        return shortest[1]
    return _rounded(value, decimal)


def _terminates(denominator: int) -> bool:
    """Whether p/denominator has a finite decimal (no prime factors but 2 and 5)."""
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def _significant_digits(value: float, digits: int) -> int:
    """How many significant digits `value` written with `digits` of them shows (1.20 shows 2)."""
    mantissa = f"{abs(value):.{digits}e}".split("e")[0].replace(".", "").rstrip("0")
    return max(1, len(mantissa))


def rewritten_exactly(chosen: dict, clean: Callable[[sympy.Expr, int], sympy.Expr], digits: int, symbols,
                      X: np.ndarray, Y: np.ndarray, valid: tuple) -> dict:
    """The exact candidate `chosen` with its formulas from `exact_formula` (checked on all rows
    X, Y), and the size and held-out error of those formulas."""
    formulas = [exact_formula(u, f, clean, digits, symbols, X, Y[:, o])
                for o, (u, f) in enumerate(zip(chosen["unrounded"], chosen["formulas"]))]
    return candidate(chosen["source"], formulas, [0.0] * len(formulas), symbols, valid, chosen["restart"],
                     chosen["variant"], chosen["unrounded"])


def written_exactly(formula: sympy.Expr, digits: int) -> sympy.Expr:
    """Every float of `formula` (cleaned at full precision) written by `simplest_number`."""
    return formula.xreplace({f: simplest_number(float(f), digits) for f in formula.atoms(sympy.Float)})


def exact_formula(unrounded: sympy.Expr, rounded: sympy.Expr, clean: Callable[[sympy.Expr, int], sympy.Expr],
                  digits: int, symbols, X: np.ndarray, y: np.ndarray) -> sympy.Expr:
    """The formula to print for an exact fit: `unrounded` cleaned at full precision with its
    numbers written exactly (`written_exactly`) where that stays exact on (X, y); else each number
    with the fewest digits that keep it exact (a coefficient the data pin only to 1e-7 prints
    with 8 digits, not 17); else `rounded`. `clean(formula, digits)` is the regressor's cleaning."""
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


def _rounded(number: float, digits: int) -> sympy.Float:
    """`number` rounded to `digits` significant digits, held at double precision (a Float of
    fewer bits would hold 4.7334 as 4.73339844 inside sympy)."""
    return sympy.Float(round_significant(float(number), digits))
