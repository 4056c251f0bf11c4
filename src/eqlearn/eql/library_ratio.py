"""Library ratios N / (1 + d m): m one monomial, N a sparse sum of monomials, fitted linearly as
y = N - d y m, the way SINDy-PI fits implicit laws (Kaheman et al. 2020), so omega / (1 - v/c) is
one least-squares problem per m. The numerator columns are shared by every m, so each search
runs on their Gram matrix (`forward_regression_gram`)."""
from __future__ import annotations

import math

import numpy as np
import sympy

from eqlearn.eql.library import (
    HIGH_DEGREE,
    INDEPENDENCE,
    RESOLVED,
    SMALL_LIBRARY,
    Library,
    forward_rows,
    largest_degree,
    one_sign_columns,
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
        for base in [0] + [base for _, base, _ in alone[:MONOMIAL_BASES]]:  # monomial 0 is the constant
            ranked = filter(None, (search.over(base, pole) for pole in range(1, len(denominators.monomials))
                                   if pole != base))
            for _, pole, terms in sorted(ranked)[:RATIO_REFITS]:
                denominator = denominators.monomials[base] + denominators.monomials[pole]
                fits.append(refit_ratio((numerators.sum(terms), denominator), symbols, train, valid))
        for _, base, terms in alone[:RATIO_REFITS]:
            fits.append(refit_ratio((numerators.sum(terms), denominators.monomials[base]), symbols, train, valid))
    return fits


class _Numerators:
    """Forward regression of y b on the numerator columns (unit `top`, Gram matrix formed once)
    and, with a pole monomial m, the -y m column taken first: N / (b + d m)."""

    def __init__(self, top: np.ndarray, kept: np.ndarray, y: np.ndarray, bottom_columns: np.ndarray, steps: int):
        self.top, self.kept, self.y, self.bottom, self.steps = top, kept, y, bottom_columns, steps
        self.gram_top = top.T @ top
        self.centred = y - y.mean()

    def over(self, base: int, pole: int | None = None) -> tuple[float, int, list[int]] | None:
        """(pole-free residual, pole or base, numerator monomials), or None where nothing fits."""
        with np.errstate(all="ignore"):
            target = self.y * self.bottom[:, base]
        norm2 = float(target @ target)
        if not (math.isfinite(norm2) and norm2 > 0):
            return None
        top_target = self.top.T @ target
        if pole is None:
            gram, correlations = self.gram_top, top_target
        else:
            with np.errstate(all="ignore"):
                column = unit_columns((-self.y * self.bottom[:, pole])[:, None])[:, 0]
            if not column.any():
                return None
            cross = self.top.T @ column
            gram = np.block([[np.ones((1, 1)), cross[None]], [cross[:, None], self.gram_top]])
            correlations = np.concatenate([[column @ target], top_target])
        chosen = forward_regression_gram(gram, correlations, self.steps, first=None if pole is None else 0,
                                         target_norm2=norm2)
        if len(chosen) < (1 if pole is None else 2):
            return None
        # least squares on the chosen unit columns, from the Gram matrix alone
        coefficients = np.linalg.lstsq(gram[np.ix_(chosen, chosen)], correlations[chosen], rcond=None)[0]
        residual = max(norm2 - float(coefficients @ correlations[chosen]), 0.0)
        denominator = self.bottom[:, base]
        if pole is not None:
            with np.errstate(all="ignore"):  # the -y m column's coefficient, in m's own units
                denominator = denominator + coefficients[0] / np.linalg.norm(self.y * self.bottom[:, pole]) * self.bottom[:, pole]
        score = residual / max(float(np.sum((self.centred * denominator) ** 2)), 1e-300)
        numerator = [int(self.kept[i - (pole is not None)]) for i in chosen[pole is not None:]]
        return (score, pole if pole is not None else base, numerator) if math.isfinite(score) else None


def forward_regression_gram(gram: np.ndarray, correlations: np.ndarray, steps: int, first: int | None = None,
                            target_norm2: float = math.inf) -> list[int]:
    """`forward_regression` on unit-norm columns given only through their Gram matrix, their
    products with the target and the target's squared norm: each step costs columns x steps,
    not rows x columns, so many searches over one shared set of columns are cheap. A column of
    zero norm has a zero row."""
    usable = np.diag(gram) > 0.5
    remaining = np.where(usable, np.diag(gram), 0.0).astype(float)
    correlations = correlations.astype(float).copy()
    directions = np.zeros((len(gram), max(steps, 0)))  # column . each chosen orthonormal direction
    chosen: list[int] = []
    if first is not None and not usable[first]:
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
        best = first if first is not None and not chosen else int(np.argmax(gain))
        norm = math.sqrt(remaining[best])
        along = (gram[:, best] - directions[:, :step] @ directions[best, :step]) / norm
        left -= (correlations[best] / norm) ** 2
        correlations -= along * (correlations[best] / norm)
        remaining -= along**2
        directions[:, step] = along
        chosen.append(best)
    return chosen
