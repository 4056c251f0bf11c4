"""Library ratios N / (1 + d m): m one monomial, N a sparse sum of monomials, fitted linearly as
y = N - d y m, the way SINDy-PI fits implicit laws (Kaheman et al. 2020), so omega / (1 - v/c) is
one least-squares problem per m. The numerator columns are shared by every m, so each search
runs on their Gram matrix (`forward_regression_gram`)."""
from __future__ import annotations

import math

import numpy as np
import sympy

from eqlearn.eql.library import (
    INDEPENDENCE,
    RESOLVED,
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


def fit_library_ratio(symbols, train: tuple[np.ndarray, np.ndarray],
                      valid: tuple[np.ndarray, np.ndarray]) -> list[tuple[sympy.Expr, float]]:
    """N / (1 + d m) with m one monomial and N a sparse sum of monomials: for every m, forward
    regression on the linear form y = N - d y m with the -y m column first, with numerators of
    degree 1, 2, ... in turn (a low-degree numerator such as u + v is lost among the terms of
    a larger library). Per numerator degree, the m whose fits have the lowest pole-free
    residual |y D - N|^2 / |(y - mean y) D|^2 on the training rows are refitted by
    `refit_ratio` (which prunes N and D on held-out rows). The numerator columns are the same
    for every m, so their Gram matrix is formed once per degree and each m adds one row
    (`forward_regression_gram`)."""
    x, y = forward_rows(train)
    signed = one_sign_columns(x)
    numerators = Library(x, symbols, largest_degree(signed, 1, MAX_RATIO_NUMERATORS))
    denominators = Library(x, symbols, largest_degree(signed, 1, MAX_DENOMINATORS))
    top_columns, bottom_columns = numerators.monomial_columns(x), denominators.monomial_columns(x)
    centred = y - y.mean()
    steps = min(RATIO_FORWARD_TERMS, max(1, len(y) - 1))
    fits = []
    for degree in range(1, int(numerators.degrees.max()) + 1):
        kept = np.flatnonzero(numerators.degrees <= degree)
        top = unit_columns(top_columns[:, kept])
        gram_top, top_target = top.T @ top, top.T @ y
        ranked = []
        for j in range(1, len(denominators.monomials)):  # monomial 0 is D's constant
            with np.errstate(all="ignore"):
                pole = unit_columns((-y * bottom_columns[:, j])[:, None])[:, 0]
            if not pole.any():
                continue
            cross = top.T @ pole
            gram = np.block([[np.ones((1, 1)), cross[None]], [cross[:, None], gram_top]])
            correlations = np.concatenate([[pole @ y], top_target])
            chosen = forward_regression_gram(gram, correlations, steps, first=0, target_norm2=float(y @ y))
            if len(chosen) < 2:
                continue
            # least squares on the chosen unit columns, from the Gram matrix alone
            unit_coefficients = np.linalg.lstsq(gram[np.ix_(chosen, chosen)], correlations[chosen], rcond=None)[0]
            residual = max(float(y @ y - unit_coefficients @ correlations[chosen]), 0.0)
            with np.errstate(all="ignore"):
                d = unit_coefficients[0] / np.linalg.norm(y * bottom_columns[:, j])  # the -y m column's coefficient
                pole_free = np.sum((centred * (1 + d * bottom_columns[:, j])) ** 2)
            score = float(residual / max(float(pole_free), 1e-300))
            if math.isfinite(score):
                ranked.append((score, j, [int(kept[i - 1]) for i in chosen[1:]]))
        for _, j, terms in sorted(ranked, key=lambda r: r[0])[:RATIO_REFITS]:
            numerator = sympy.Add(*[numerators.monomials[i] for i in terms])
            fits.append(refit_ratio((numerator, 1 + denominators.monomials[j]), symbols, train, valid))
    return fits


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
