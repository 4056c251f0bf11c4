"""Taylor tails in a library fit replaced by the function they approximate.

On few rows, forward regression beside many monomials builds sin x out of x, x^3, x^5, ... and
never takes sin x itself: x^3 + x^2 + x + sin x + sin y^2 on 20 points comes out as a degree-9
polynomial plus sin y^2 that reproduces the held-out rows to 1e-22, which no refit of its own
terms can shorten. A library factor that the fit's terms already (nearly) span is tried beside
them, and backward elimination on the held-out rows drops the terms it makes redundant.
"""
from __future__ import annotations

import numpy as np
import sympy

from eqlearn.eql.selection import as_good_as, backward_elimination, refit_columns, refit_terms, scaled_lstsq, term_columns

#: A factor whose projection onto the fit's terms leaves less than this share of its norm is one
#: they approximate (sin x beside x, x^3, ..., x^9 leaves ~1e-10; an unrelated one, a good part).
SPANNED = 1e-4


def shortened(formula: sympy.Expr, error: float, library, symbols, train: tuple, valid: tuple) -> list[tuple[sympy.Expr, float]]:
    """Refits of `formula` with one spanned factor of `library` added and the terms it makes
    redundant dropped, where that leaves fewer terms at an error as good as `error`."""
    (x_train, t), (x_valid, v) = train, valid
    kept, h_train, h_valid = term_columns(formula, symbols, x_train, x_valid)
    if len(kept) < 3 or len(kept) >= len(t) - 1:  # a tail takes two terms; as many terms as rows span anything
        return []
    scale = max(float(v.var()), 1e-12)
    found = []
    for k in range(1, len(library.factors)):
        factor = library.factors[k]
        f_train, f_valid = library.factor_values(x_train, k), library.factor_values(x_valid, k)
        if factor in kept or not (np.isfinite(f_train).all() and np.isfinite(f_valid).all()) or not _spanned(h_train, f_train):
            continue
        columns_train, columns_valid = np.column_stack([h_train, f_train]), np.column_stack([h_valid, f_valid])
        refit = lambda active: refit_columns(columns_train, t, columns_valid, v, active, scale)
        active, _, trial_error = backward_elimination(refit, list(range(len(kept) + 1)), as_good_as)
        if len(kept) in active and len(active) < len(kept) and trial_error <= as_good_as(error):
            terms = [kept[i] for i in active if i < len(kept)] + [factor]
            found.append(refit_terms(sympy.Add(*terms), symbols, train, valid))
    return found


def _spanned(columns: np.ndarray, values: np.ndarray) -> bool:
    norm = float(np.linalg.norm(values))
    if norm == 0:
        return False
    left = values - columns @ scaled_lstsq(columns, values)
    return float(np.linalg.norm(left)) <= SPANNED * norm
