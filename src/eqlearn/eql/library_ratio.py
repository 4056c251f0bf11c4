"""Library ratios N / (1 + d m): m one monomial, N a sparse sum of monomials, fitted linearly as
y = N - d y m, the way SINDy-PI fits implicit laws (Kaheman et al. 2020), so omega / (1 - v/c) is
one least-squares problem per m. The numerator columns are shared by every m, so each search
runs on their Gram matrix (`forward_regression_gram`)."""
from __future__ import annotations

import math

import numpy as np
import sympy

from eqlearn.eql.inputs import one_sign_columns
from eqlearn.eql.library import (
    HIGH_DEGREE,
    INDEPENDENCE,
    RESOLVED,
    SMALL_LIBRARY,
    Library,
    forward_rows,
    largest_degree,
    unit_columns,
)
from eqlearn.eql.ratio import refit_ratio

#: At most this many numerator columns and candidate denominators (degrees lowered to fit), the
#: numerator's forward steps, and how many denominators per numerator degree are refitted on
#: held-out rows.
MAX_RATIO_NUMERATORS = 300
MAX_DENOMINATORS = 700
RATIO_FORWARD_TERMS = 10
RATIO_REFITS = 2
#: Monomials of inputs that cross zero tried as the denominator's leading term b (N / (b + d m)).
MONOMIAL_BASES = 2
#: With at most this many denominator monomials (few inputs), denominators 1 + d1 m1 + d2 m2 too:
#: the second pole beside each of the `TWO_POLE_SEEDS` best single ones (8 / (2 + x^2 + y^2)).
TWO_POLE_MONOMIALS = 60
TWO_POLE_SEEDS = 2


def fit_library_ratio(symbols, train: tuple[np.ndarray, np.ndarray],
                      valid: tuple[np.ndarray, np.ndarray]) -> list[tuple[sympy.Expr, float]]:
    """N / (b + d m) with b 1 or a monomial, m one monomial and N a sparse sum of monomials:
    for every m, forward regression on the linear form y b = N - d y m with the -y m column
    first, with numerators of degree 1, 2, ... in turn (a low-degree numerator such as u + v is
    lost among the terms of a larger library). b = 1 always; b a monomial of inputs that cross
    zero for the few such monomials that divide the data best on their own (N / b, refitted
    too): x^2 y^2 / (x + y) and x z / (y^2 (x - 10)) have no constant in the denominator, and a
    monomial of one-sign inputs has its negative powers in N already. Per numerator degree and
    b, the m whose fits have the lowest pole-free residual |y D - N|^2 / |(y - mean y) D|^2 on the
    training rows are refitted by `refit_ratio` (which prunes N and D on held-out rows). The
    numerator columns are the same for every m, so their Gram matrix is formed once per degree
    and each m adds one row (`forward_regression_gram`)."""
    x, y = forward_rows(train)
    signed = one_sign_columns(x)
    numerators = Library(x, symbols, max(largest_degree(signed, 1, MAX_RATIO_NUMERATORS),
                                         largest_degree(signed, 1, SMALL_LIBRARY, top=HIGH_DEGREE)))
    denominators = Library(x, symbols, largest_degree(signed, 1, MAX_DENOMINATORS))
    top_columns, bottom_columns = numerators.monomial_columns(x), denominators.monomial_columns(x)
    both_signs = (x < 0).any(axis=0) & (x > 0).any(axis=0)
    crossing = np.flatnonzero((denominators.exponents[:, both_signs] > 0).any(axis=1))  # monomials reaching 0
    steps = min(RATIO_FORWARD_TERMS, max(1, len(y) - 1))
    fits = []
    for degree in range(1, int(numerators.degrees.max()) + 1):
        kept = np.flatnonzero(numerators.degrees <= degree)
        search = _Numerators(unit_columns(top_columns[:, kept]), kept, y, bottom_columns, steps)
        alone = sorted(filter(None, (search.over(base) for base in crossing)))
        for base in [0] + [base for _, (base,), _ in alone[:MONOMIAL_BASES]]:  # monomial 0 is the constant
            poles = [pole for pole in range(1, len(denominators.monomials)) if pole != base]
            ranked = sorted(filter(None, (search.over(base, (pole,)) for pole in poles)))
            if base == 0 and len(poles) <= TWO_POLE_MONOMIALS:  # few inputs: 1 + d1 m1 + d2 m2 as well
                ranked += sorted(filter(None, (search.over(base, (first, pole)) for _, (first,), _ in ranked[:TWO_POLE_SEEDS]
                                               for pole in poles if pole != first)))[:RATIO_REFITS]
            for _, chosen, terms in sorted(ranked)[:RATIO_REFITS + 1]:
                denominator = denominators.monomials[base] + denominators.sum(chosen)
                fits.append(refit_ratio((numerators.sum(terms), denominator), symbols, train, valid))
        for _, (base,), terms in alone[:RATIO_REFITS]:
            fits.append(refit_ratio((numerators.sum(terms), denominators.monomials[base]), symbols, train, valid))
    return fits


class _Numerators:
    """Forward regression of y b on the numerator columns (unit `top`, Gram matrix formed once)
    and, with pole monomials m, the -y m columns taken first: N / (b + d1 m1 + ...)."""

    def __init__(self, top: np.ndarray, kept: np.ndarray, y: np.ndarray, bottom_columns: np.ndarray, steps: int):
        self.top, self.kept, self.y, self.bottom, self.steps = top, kept, y, bottom_columns, steps
        self.gram_top = top.T @ top
        self.centred = y - y.mean()

    def over(self, base: int, poles: tuple[int, ...] = ()) -> tuple[float, tuple[int, ...], list[int]] | None:
        """(pole-free residual, the poles (or (base,) without poles), numerator monomials), or
        None where nothing fits."""
        with np.errstate(all="ignore"):
            target = self.y * self.bottom[:, base]
            raw = [-self.y * self.bottom[:, pole] for pole in poles]
        norm2 = float(target @ target)
        if not (math.isfinite(norm2) and norm2 > 0):
            return None
        columns = unit_columns(np.column_stack(raw)) if poles else np.zeros((len(self.y), 0))
        if poles and not columns.any(axis=0).all():
            return None
        cross = self.top.T @ columns
        gram = np.block([[columns.T @ columns, cross.T], [cross, self.gram_top]])
        correlations = np.concatenate([columns.T @ target, self.top.T @ target])
        chosen = _forced_first(gram, correlations, self.steps, len(poles), norm2)
        if len(chosen) < len(poles) + 1:
            return None
        # least squares on the chosen unit columns, from the Gram matrix alone
        coefficients = np.linalg.lstsq(gram[np.ix_(chosen, chosen)], correlations[chosen], rcond=None)[0]
        residual = max(norm2 - float(coefficients @ correlations[chosen]), 0.0)
        denominator = self.bottom[:, base].copy()
        for k, (pole, column) in enumerate(zip(poles, raw)):  # each -y m column's coefficient, in m's units
            with np.errstate(all="ignore"):
                denominator = denominator + coefficients[k] / np.linalg.norm(column) * self.bottom[:, pole]
        score = residual / max(float(np.sum((self.centred * denominator) ** 2)), 1e-300)
        numerator = [int(self.kept[i - len(poles)]) for i in chosen[len(poles):]]
        return (score, poles or (base,), numerator) if math.isfinite(score) else None


def _forced_first(gram: np.ndarray, correlations: np.ndarray, steps: int, forced: int, norm2: float) -> list[int]:
    """`forward_regression_gram` with the first `forced` columns taken first, in order."""
    chosen = forward_regression_gram(gram, correlations, steps + max(forced - 1, 0), first=0 if forced else None,
                                     target_norm2=norm2, forced=forced)
    return chosen if chosen[:forced] == list(range(forced)) else []


def forward_regression_gram(gram: np.ndarray, correlations: np.ndarray, steps: int, first: int | None = None,
                            target_norm2: float = math.inf, forced: int = 1) -> list[int]:
    """`forward_regression` on unit-norm columns given only through their Gram matrix, their
    products with the target and the target's squared norm: each step costs columns x steps,
    not rows x columns, so many searches over one shared set of columns are cheap. A column of
    zero norm has a zero row."""
    usable = np.diag(gram) > 0.5
    remaining = np.where(usable, np.diag(gram), 0.0).astype(float)
    correlations = correlations.astype(float).copy()
    directions = np.zeros((len(gram), max(steps, 0)))  # column . each chosen orthonormal direction
    chosen: list[int] = []
    if first is not None and not usable[first:first + forced].all():
        return chosen
    left, resolved = target_norm2, RESOLVED * target_norm2
    for step in range(min(steps, int(usable.sum()))):
        if chosen and left <= resolved:
            break
        open_ = usable & (remaining > INDEPENDENCE)
        open_[chosen] = False
        if not open_.any():
            break
        gain = np.where(open_, correlations**2 / np.where(open_, remaining, 1.0), -np.inf)
        best = first + step if first is not None and step < forced else int(np.argmax(gain))
        if not open_[best]:  # a forced column that is a numerical copy of those before it
            break
        norm = math.sqrt(remaining[best])
        along = (gram[:, best] - directions[:, :step] @ directions[best, :step]) / norm
        left -= (correlations[best] / norm) ** 2
        correlations -= along * (correlations[best] / norm)
        remaining -= along**2
        directions[:, step] = along
        chosen.append(best)
    return chosen
