"""Presenting a learned law: dropping negligible terms and the canonical (unrotated) form."""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np
import sympy

from eqlearn.readout.variables import evaluate as _evaluate
from eqlearn.symbolic import clean_expression
from eqlearn.vocabulary.formula import as_expression
from eqlearn.vocabulary.symbols import SOFTENING, distance

#: `unit_vector_form` leaves alone laws with an exponential exp(p r / q) where |p| q exceeds this:
#: cancelling treats it as a polynomial of degree |p| in exp(r / q), and a long q multiplies the
#: degrees of every other rate (a step's e^(9.29 r), 929/100, took minutes), while screened and
#: Morse-like laws have small integer rates.
MAX_EXP_DEGREE = 24
#: unit_vector_form leaves expressions with more additive terms than this as they are.
READABLE_TERMS = 8
#: A reduced coefficient that rounding would change, but that lies within this relative distance
#: of a fraction p/q with q <= EXACT_DENOMINATOR, is that fraction: pivoting divides coefficients
#: the refit snapped (101 and -100, or 1.01 and 1, in a screened law), and 100/101 rounded to 0.99
#: is no longer the law.
EXACT_RATIO_TOLERANCE = 1e-9
EXACT_DENOMINATOR = 1000
#: Coefficients that are fractions with denominators up to this are snapped numbers (integers,
#: halves, 1.01 = 1 + the softening); a measured one rounded to 3 digits (1.994 = 997/500) is not.
SNAPPED_DENOMINATOR = 100




def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean(values**2)))


def drop_negligible_terms(expr: sympy.Expr, values: dict[str, np.ndarray], relative: float = 1e-2) -> sympy.Expr:
    """Drop the additive terms that together change `expr` by < `relative` of its size on `values`.

    A coefficient's size says little when its term multiplies large or small variables; the
    terms' effect on real data says how much they matter. Each pair counts relative to the
    expression's own value there (floored at its median size), as in the relative force error:
    otherwise the few closest pairs of a law that grows like 1/r³ would make every slower term
    look negligible. Terms go smallest first, as a group, so small terms that cancel each other
    go too.
    """
    terms = sympy.Add.make_args(sympy.expand(expr))
    if len(terms) < 2:
        return expr
    term_values = [_evaluate(t, values) for t in terms]
    total = sum(term_values)
    size = np.abs(total)
    weight = 1 / np.sqrt(size**2 + np.nanmedian(size) ** 2 + 1e-300)
    term_values = [v * weight for v in term_values]
    budget = relative * _rms(total * weight)
    dropped = np.zeros_like(term_values[0])
    kept = list(range(len(terms)))
    for i in sorted(kept, key=lambda i: _rms(term_values[i])):
        if _rms(dropped + term_values[i]) >= budget:
            break
        dropped = dropped + term_values[i]
        kept.remove(i)
    return sympy.Add(*[terms[i] for i in kept])


def split_coefficient(term: sympy.Expr) -> tuple[float, sympy.Expr]:
    """A term as (number, coefficient-free part), with numbers inside a polynomial denominator
    pulled out too: -2*dx/(2*r**2 - 0.02*r) is (-1, dx/(r*(r - 0.01))), not (-2, dx/(2*r**2 - ...))."""
    coefficient, rest = term.as_coeff_Mul()
    numerator, denominator = sympy.fraction(sympy.together(rest))
    if denominator != 1 and denominator.is_polynomial():
        inner, rest = (numerator / sympy.factor(denominator)).as_coeff_Mul()
        coefficient = coefficient * inner
        rest = rest.xreplace({f: sympy.Integer(1) for f in rest.atoms(sympy.Float) if float(f) == 1.0})
    return float(coefficient), rest


def _axis_rank(term: sympy.Expr, axes: Sequence[sympy.Symbol]) -> int:
    present = [i for i, axis in enumerate(axes) if term.has(axis)]
    return present[0] if present else len(axes)


def canonical_form(exprs: Sequence[sympy.Expr], axes: Sequence[sympy.Symbol], digits: int = 3,
                   drop_below: float = 1e-2, values: dict[str, np.ndarray] | None = None) -> list[sympy.Expr]:
    """Undo an arbitrary invertible linear mixing of `exprs` (docs/design.md §5).

    The expressions are written over their common additive terms (constants dropped: offsets are
    not identifiable) and the coefficient matrix is reduced by Gauss-Jordan elimination with
    complete pivoting: each step pivots on the largest remaining term, measured by its RMS on
    `values` when given (so small spurious terms never become pivots). Rows are scaled so their
    pivot coefficient is 1 and ordered by the pivot's axis (dx first). A rotated spring pair
    becomes `dx - dx/r`, `dy - dy/r`, deterministically.
    """
    coefficients: list[dict] = []
    for expr in exprs:
        row = {}
        for term in sympy.Add.make_args(sympy.expand(expr)):
            coefficient, monomial = split_coefficient(term)
            if not monomial.is_number:
                row[monomial] = row.get(monomial, 0.0) + coefficient
        coefficients.append(row)
    terms = sorted({t for row in coefficients for t in row}, key=lambda t: (_axis_rank(t, axes), sympy.default_sort_key(t)))
    if not terms:
        return [sympy.Integer(0) for _ in exprs]
    matrix = np.array([[row.get(t, 0.0) for t in terms] for row in coefficients])
    scales = np.array([_rms(_evaluate(t, values)) for t in terms]) if values is not None else np.ones(len(terms))
    reduced, pivots = _gauss_jordan(matrix, scales)
    order = sorted(range(len(pivots)), key=lambda i: (_axis_rank(terms[pivots[i]], axes), pivots[i]))
    snapped = all(_is_snapped(value) for value in matrix.flat)
    # a term goes when its size on the data is below drop_below of its row's pivot term: Buckingham's
    # e^(-36.7 r) has a coefficient 1e9 times its r^-7's, whose term is no smaller where the data are
    sizes = np.abs(reduced) * scales
    pivot_sizes = sizes[np.arange(len(pivots)), pivots][:, None]
    reduced = np.where(sizes < drop_below * pivot_sizes, 0.0, reduced)
    canonical = [clean_expression(sympy.Add(*[reduced_coefficient(c, digits, snapped) * t for c, t in zip(reduced[i], terms)]),
                                  digits=digits, drop_below=0.0) for i in order]
    return canonical + [sympy.Integer(0)] * (len(exprs) - len(canonical))


def _is_snapped(value: float) -> bool:
    """Whether `value` is a fraction with a denominator up to SNAPPED_DENOMINATOR."""
    return abs(float(Fraction(value).limit_denominator(SNAPPED_DENOMINATOR)) - value) <= 1e-12 * abs(value)


def reduced_coefficient(value: float, digits: int = 3, snapped: bool = True) -> sympy.Expr:
    """`value` as the fraction it is (EXACT_RATIO_TOLERANCE) where rounding to `digits` would
    change it and it was reduced from `snapped` numbers, else as a float for `clean_expression` to
    round. A ratio of snapped coefficients (101 and -100, 1.01 and 1) is the law's own number; a
    ratio of measured ones (1.994 / 1.998 = 997/999) is a measurement, and written as a fraction
    it would pass for an exact constant."""
    value = float(value)
    if value == 0 or not snapped or float(f"{value:.{digits}g}") == value:
        return sympy.Float(value)
    fraction = sympy.Rational(value).limit_denominator(EXACT_DENOMINATOR)
    if abs(float(fraction) - value) <= EXACT_RATIO_TOLERANCE * abs(value):
        return fraction
    return sympy.Float(value)


def _gauss_jordan(matrix: np.ndarray, scales: np.ndarray, tolerance: float = 1e-9) -> tuple[np.ndarray, list[int]]:
    """Reduce `matrix`, pivoting on the largest |entry| x column scale; rows left without a pivot go.

    Returns the reduced rows (each with a 1 at its pivot column) and the pivot columns.
    """
    a = matrix.astype(float).copy()
    rows_left, pivots, pivot_rows = list(range(a.shape[0])), [], []
    while rows_left:
        weighted = np.abs(a[rows_left]) * scales
        k, col = np.unravel_index(np.argmax(weighted), weighted.shape)
        if not weighted[k, col] > tolerance * weighted.max() or weighted[k, col] == 0:
            break
        row = rows_left.pop(int(k))
        a[row] /= a[row, col]
        for other in range(a.shape[0]):
            if other != row:
                a[other] -= a[other, col] * a[row]
        pivots.append(int(col))
        pivot_rows.append(row)
    return a[pivot_rows], pivots


def unit_vector_form(expr: sympy.Expr, digits: int = 3, dim: int | None = None,
                     softening: float = SOFTENING) -> sympy.Expr:
    """`expr` written with the unit vector u = Δ/|Δ| (symbols ux, uy, uz) instead of dx, dy, dz.

    A central force then reads as u times a function of r and the particles, the way a physicist
    writes it: `-2*ux*(r - 1)` rather than `-2*dx*r/(r - 0.01) + 2*dx/(r - 0.01)`. The algebra is
    done in exact rationals; numbers that are not simple fractions come back as rounded floats.
    Given `dim`, |u|² = 1 is used too (an EQL can build the constant 1 as ux·ux + uy·uy).
    Long expressions (more than `READABLE_TERMS` terms), ones with powers other than multiples
    of ½ and ones with exponentials of r times a long fraction are returned unchanged.
    """
    if len(sympy.Add.make_args(sympy.expand(expr))) > READABLE_TERMS:
        return expr
    r = sympy.Symbol("r")
    expr, steep = _exponentials_as_symbols(sympy.expand(as_expression(expr)))
    exact = sympy.nsimplify(expr, rational=True)
    if any(power.exp.is_Rational and power.exp.q > 2 for power in exact.atoms(sympy.Pow)):
        return expr.xreplace(steep)  # powers such as r**(389/125): factoring them can run for hours
    distance = r - sympy.nsimplify(softening, rational=True)
    substitution = {sympy.Symbol(f"d{a}"): sympy.Symbol(f"u{a}") * distance for a in "xyz"}
    rewritten = sympy.factor_terms(sympy.cancel(sympy.expand(exact.xreplace(substitution))))
    forms = [rewritten, sympy.factor(rewritten)]
    if dim is not None:
        unit_norm = sum(sympy.Symbol(f"u{a}") ** 2 for a in "xyz"[:dim])
        forms += [sympy.factor(form.subs(unit_norm, 1)) for form in forms]
    shorter = min(forms, key=sympy.count_ops)
    awkward = {q: sympy.Float(q) for q in shorter.atoms(sympy.Rational) if q.q > 10}
    if not (awkward or steep):
        return shorter
    return clean_expression(shorter.xreplace(awkward).xreplace(steep), digits=digits, drop_below=0.0)


def _exponentials_as_symbols(expr: sympy.Expr) -> tuple[sympy.Expr, dict]:
    """`expr` with every exp(k r) whose rate is a long fraction (MAX_EXP_DEGREE) replaced by a
    positive symbol, and {symbol: exponential} to put them back: factoring would treat such a
    term as a polynomial of high degree in exp(r/q), while as a symbol it is one factor like any
    other (Buckingham's 3.3e7 dx e^(-36.7 r)/r reads as 3.3e7 ux e^(-36.7 r))."""
    steep = {}
    for power in expr.atoms(sympy.exp):
        rate = sympy.nsimplify(power.args[0], rational=True)
        if any(abs(q.p) * q.q > MAX_EXP_DEGREE for q in rate.atoms(sympy.Rational)):
            steep[power] = sympy.Symbol(f"_exponential{len(steep)}", positive=True)
    return expr.xreplace(steep), {symbol: power for power, symbol in steep.items()}


def single_axis_form(expr: sympy.Expr, dim: int, softening: float = SOFTENING) -> sympy.Expr:
    """`expr` rewritten through |u| = 1 when that leaves it depending on one axis only.

    An EQL can build the constant 1 as ux·ux + uy·uy, so a refitted law may read
    `2*dx**3/|Δ|**3 + 2*dx*dy**2/|Δ|**3 - 2*dx*r/|Δ|`: the spring force along x, written with dy.
    Anything that truly needs two axes comes back unchanged.
    """
    axes = [sympy.Symbol(f"d{a}") for a in "xyz"[:dim]]
    if sum(axis in expr.free_symbols for axis in axes) <= 1:
        return expr
    units = [sympy.Symbol(f"u{a}") for a in "xyz"[:dim]]
    rewritten = unit_vector_form(expr, digits=6, dim=dim, softening=softening)
    used = [k for k, unit in enumerate(units) if unit in rewritten.free_symbols]
    if len(used) != 1:
        return expr
    return rewritten.xreplace({units[used[0]]: axes[used[0]] / distance(softening)})
