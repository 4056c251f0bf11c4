"""Candidate formulas for `EQLRegressor` and the choice among them.

Every candidate (a read-out network refitted term by term, a power law, a library sum or ratio)
carries one formula per output, its size (nodes of the expression tree) and its held-out error.
The model is the shortest candidate whose error is as good as the best one's; `equations_` is
the Pareto front of size and error. A candidate whose refit is exact on held-out rows (error
below `EXACT_ERROR`, far below any noise or approximation) ends the search early.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import sympy

from eqlearn.eql.export import numpy_function
from eqlearn.eql.library import fit_library
from eqlearn.eql.library_ratio import fit_library_ratio
from eqlearn.eql.ratio import refit_ratio
from eqlearn.eql.selection import EXACT_ERROR, as_good_as_best, fit_power_law, refit_terms, scaled_lstsq, snap_to_halves, term_columns
from eqlearn.symbolic import to_string

#: Each read-out formula is refitted as read, with its numbers near multiples of 1/2 snapped,
#: and with every number snapped (exponents such as 0.175 and 0.825 that training left mixed).
SNAP_VARIANTS = {
    "as read": lambda e: e,
    "snapped": snap_to_halves,
    "all snapped": lambda e: snap_to_halves(e, tolerance=0.25),
}
#: A formula whose additive terms are this many times larger (RMS) than their sum fits by
#: cancellation (`cancellation`): terms that add up give about 1 (at most the number of terms),
#: a network's read-out of 1e8 x^3 - 4e8 sin(0.26 x)^2 + ... gives thousands.
CANCELLATION = 100

Clean = Callable[[sympy.Expr], sympy.Expr]


def candidate(source: str, formulas: list[sympy.Expr], raw_errors: list[float], symbols, valid: tuple,
              restart: int | None = None, variant: str = "as read", unrounded: list[sympy.Expr] | None = None) -> dict:
    """A candidate from its (cleaned) formulas, one per output, and their unrounded refit errors;
    `unrounded` are the formulas before cleaning (an exact one is printed from them)."""
    x_valid, y_valid = valid
    errors = [formula_error(f, symbols, x_valid, y_valid[:, o]) for o, f in enumerate(formulas)]
    exact = max(raw_errors) <= EXACT_ERROR  # `choose` asks an exact candidate nothing more
    return {"source": source, "restart": restart, "variant": variant, "formulas": formulas, "unrounded": unrounded or formulas,
            "size": sum(formula_size(f) for f in formulas), "error": float(np.mean(errors)), "exact": exact,
            "cancelling": not exact and any(cancellation(f, symbols, x_valid) > CANCELLATION for f in formulas)}


def read_out_candidates(source: str, restart: int, read_out: list, ratio: bool, symbols, train: tuple,
                        valid: tuple, clean: Clean) -> list[dict]:
    """One network's read-out (a formula, or a (numerator, denominator) pair, per output) refitted
    term by term in every `SNAP_VARIANTS` variant."""
    found = []
    for variant, transform in SNAP_VARIANTS.items():
        formulas, raw_errors, unrounded = [], [], []
        for o, expression in enumerate(read_out):
            rows = _output_rows(train, valid, o)
            refitted, raw = refit_ratio(tuple(map(transform, expression)), symbols, *rows) if ratio \
                else refit_terms(transform(expression), symbols, *rows)
            formulas.append(clean(refitted))
            raw_errors.append(raw)
            unrounded.append(refitted)
        found.append(candidate(source, formulas, raw_errors, symbols, valid, restart, variant, unrounded))
    return found


def power_law_candidates(symbols, train: tuple, valid: tuple, clean: Clean) -> list[dict]:
    """c * x1^a1 * x2^a2 ... fitted in log space (non-negative columns, a target of one sign),
    refitted like a read-out."""
    positive = np.flatnonzero((train[0] >= 0).all(axis=0) & (train[0] > 0).any(axis=0))
    laws = [fit_power_law(train[0], train[1][:, o], positive, symbols) for o in range(train[1].shape[1])]
    if any(law is None for law in laws):
        return []
    return read_out_candidates("power law", None, laws, False, symbols, train, valid, clean)


def library_candidates(symbols, train: tuple, valid: tuple, clean: Clean) -> list[dict]:
    """Sparse sums and ratios of library terms (`eqlearn.eql.library`), one candidate per kind:
    per output, the shortest of its fits as good as the best."""
    found = []
    for source, fit in (("library", fit_library), ("library ratio", fit_library_ratio)):
        formulas, raw_errors, unrounded = [], [], []
        for o in range(train[1].shape[1]):
            fits = [(clean(f), e, f) for f, e in fit(symbols, *_output_rows(train, valid, o)) if math.isfinite(e)]
            if not fits:
                break
            errors = [e for _, e, _ in fits]
            best = shortest_best(errors, [formula_size(f) for f, _, _ in fits], [e <= EXACT_ERROR for e in errors])
            formulas.append(fits[best][0])
            raw_errors.append(fits[best][1])
            unrounded.append(fits[best][2])
        if len(formulas) == train[1].shape[1]:
            found.append(candidate(source, formulas, raw_errors, symbols, valid, unrounded=unrounded))
    return found


def choose(candidates: list[dict]) -> int:
    """The shortest exact candidate, or without one the shortest whose error is as good as the
    best one's. "As good as" allows 1e-6, the noise floor of measured data; on exact data that
    would let x + x^3/6 (error 1e-6) beat sinh x, which the held-out rows reproduce to rounding.
    Inexact candidates whose terms cancel (`cancellation`) are chosen only where every one does
    (an exact one may: (x - 10)^3 expanded on [9, 11] cancels and is still the law)."""
    sound = [i for i, c in enumerate(candidates) if c["exact"] or not c.get("cancelling")] or list(range(len(candidates)))
    best = shortest_best([candidates[i]["error"] for i in sound], [candidates[i]["size"] for i in sound],
                         [candidates[i]["exact"] for i in sound])
    return sound[best]


def cancellation(formula: sympy.Expr, symbols, X: np.ndarray) -> float:
    """How much larger the formula's additive terms are than their sum on the rows of X (RMS):
    1 for terms that add up, 1e7 for 4e6 x^3 - 2.5e7 x^2 e^(0.15 x) + ... that cancel on the
    training range to fit it and explode beside it. A ratio is judged by its numerator."""
    numerator = sympy.fraction(sympy.together(formula))[0] if _is_ratio(formula) else formula
    terms = sympy.Add.make_args(numerator)  # a refitted formula is a sum of its fitted terms
    if len(terms) < 2:
        return 1.0
    values = numpy_function(list(terms), symbols)(X)
    with np.errstate(all="ignore"):
        ratio = math.sqrt(float(np.mean(values**2)) * len(terms) / max(float(np.mean(values.sum(axis=1) ** 2)), 1e-300))
    return ratio if math.isfinite(ratio) else math.inf


def shortest_best(errors: list[float], sizes: list[int], exact: list[bool]) -> int:
    """The index of the shortest exact fit, or without one of the shortest as good as the best
    (`choose`'s rule, also for a library's bare fits)."""
    best = [i for i, e in enumerate(exact) if e] or as_good_as_best(errors)
    return min(best, key=lambda i: (sizes[i], errors[i]))


def cross_validate(candidates: list[dict], symbols, X: np.ndarray, Y: np.ndarray, folds: list[np.ndarray]) -> None:
    """Replace each candidate's error by its k-fold error: per fold, the coefficients of the
    formula's own terms (a ratio's numerator and denominator terms) refitted on the other folds
    and scored on it. With 20 to 200 points, one held-out part of a few rows cannot rank
    formulas; every row held out once can."""
    for c in candidates:
        errors = [_fold_error(f, symbols, X, Y[:, o], folds) for o, f in enumerate(c["formulas"])]
        c["error"] = float(np.mean(errors))


def _fold_error(formula: sympy.Expr, symbols, X: np.ndarray, y: np.ndarray, folds: list[np.ndarray]) -> float:
    numerator, denominator = sympy.fraction(sympy.together(formula)) if _is_ratio(formula) else (formula, sympy.Integer(1))
    n_shapes, n_values, _ = term_columns(numerator, symbols, X, X[:1])
    d_shapes, d_values, _ = term_columns(denominator, symbols, X, X[:1])
    if not n_shapes or not d_shapes:
        return math.inf
    anchor = int(np.argmax(np.abs(d_values).mean(axis=0)))
    free = [i for i in range(len(d_shapes)) if i != anchor]
    design = np.column_stack([n_values, -y[:, None] * d_values[:, free]]) if free else n_values
    squared = np.empty(len(y))
    for held in folds:
        fitted = np.setdiff1d(np.arange(len(y)), held)
        coefficients = scaled_lstsq(design[fitted], y[fitted] * d_values[fitted, anchor])
        top = n_values[held] @ coefficients[:len(n_shapes)]
        bottom = d_values[held, anchor] + (d_values[held][:, free] @ coefficients[len(n_shapes):] if free else 0.0)
        with np.errstate(all="ignore"):
            squared[held] = (top / bottom - y[held]) ** 2
    error = float(np.mean(squared) / max(float(y.var()), 1e-12))
    return error if math.isfinite(error) else math.inf


def _is_ratio(formula: sympy.Expr) -> bool:
    """A quotient whose denominator is a sum (N / (1 + d m)); x / y^2 is a product, refitted as one term."""
    return isinstance(sympy.fraction(formula)[1], sympy.Add)


def formula_error(formula: sympy.Expr, symbols, X: np.ndarray, y: np.ndarray) -> float:
    """MSE / variance of `y` of the formula on (X, y); inf where it is not finite."""
    prediction = numpy_function([formula], symbols)(X)[:, 0]
    error = float(np.mean((prediction - y) ** 2) / max(float(y.var()), 1e-12))
    return error if math.isfinite(error) else math.inf


def formula_size(formula: sympy.Expr) -> int:
    """Nodes of the expression tree, numbers included: the complexity of `equations_`."""
    return sum(1 for _ in sympy.preorder_traversal(formula))


def pareto_table(candidates: list[dict], chosen: int, vector: bool):
    """The candidates no other one beats in both size and error, by size: `equations_`."""
    import pandas as pd

    order = sorted(range(len(candidates)), key=lambda i: (candidates[i]["size"], candidates[i]["error"]))
    rows, best_error = [], math.inf
    for i in order:
        c = candidates[i]
        if c["error"] < best_error or i == chosen:
            best_error = min(best_error, c["error"])
            formulas = c["formulas"][0] if vector else c["formulas"]
            rows.append({"size": c["size"], "error": c["error"],
                         "equation": "; ".join(to_string(f) for f in c["formulas"]),
                         "sympy": formulas, "source": c["source"], "variant": c["variant"],
                         "selected": i == chosen})
    return pd.DataFrame(rows)


def _output_rows(train: tuple, valid: tuple, output: int) -> tuple[tuple, tuple]:
    return (train[0], train[1][:, output]), (valid[0], valid[1][:, output])
