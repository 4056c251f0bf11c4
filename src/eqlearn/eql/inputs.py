"""What `EQLRegressor` does with its input arrays before any learning: checks that say what is
wrong, powers of ten that bring columns near 1, and the rows held out to choose formulas."""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse
import sympy

from eqlearn.errors import UserInputError

#: Below this many held-out rows, candidates are scored by k-fold cross-validation instead.
MIN_HELD_OUT_ROWS = 40
FOLDS = 5


def as_matrix(values, name: str, allow_vector: bool = False) -> np.ndarray:
    """A finite float64 2-D array, or a `UserInputError` that says what is wrong (worded so
    scikit-learn's estimator checks recognise it)."""
    if scipy.sparse.issparse(values):
        raise UserInputError(f"Sparse data was passed for {name}, but dense data is required")
    try:
        array = np.asarray(values)
        if np.iscomplexobj(array):
            raise UserInputError(f"Complex data not supported: {name} holds complex values")
        array = array.astype(np.float64)
    except UserInputError:
        raise
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be numeric") from None
    if array.ndim == 1 and allow_vector:
        array = array[:, None]
    if array.ndim != 2:
        shape = "1-D or 2-D" if allow_vector else "2-D (samples x features)"
        raise UserInputError(f"{name} must be {shape}, got shape {array.shape}. Reshape your data, "
                             "e.g. with array.reshape(-1, 1) for a single feature")
    if array.shape[0] == 0 or array.shape[1] == 0:
        kind, count = ("sample(s)", array.shape[0]) if array.shape[0] == 0 else ("feature(s)", array.shape[1])
        raise UserInputError(f"{name} is empty: {count} {kind} (shape={array.shape}) while a minimum of 1 is required.")
    if not np.isfinite(array).all():
        rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        raise UserInputError(f"{name} contains NaN or infinite values (first in row {rows[0]})")
    return array


def column_names(X) -> list[str] | None:
    """A DataFrame's column names when they are all strings (as scikit-learn reads them), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return list(columns)


def resolve_feature_names(given, frame_columns: list[str] | None, n_columns: int) -> list[str]:
    """The names of the formula's variables: `given`, else a DataFrame's columns, else x0, x1, ..."""
    names = given if given is not None else frame_columns
    if names is None:
        return [f"x{i}" for i in range(n_columns)]
    names = [str(n) for n in names]
    if len(names) != n_columns:
        raise UserInputError(f"{len(names)} feature names given for {n_columns} columns of X")
    bad = [n for n in names if not n.isidentifier()]
    if bad or len(set(names)) != len(names):
        raise UserInputError(f"feature names must be distinct identifiers, got {names}")
    if frame_columns is not None and given is not None and list(frame_columns) != names:
        raise UserInputError(f"feature_names {names} do not match the DataFrame's columns {list(frame_columns)}")
    return names


def has_positive_column(X: np.ndarray) -> bool:
    """Some column strictly positive: physical quantities, read by `monomial` units and ratios."""
    return bool((X > 0).all(axis=0).any())


def one_sign_columns(x: np.ndarray) -> np.ndarray:
    """Columns of one sign, which never reach zero: the ones that may take negative exponents
    (library monomials) or divide (library rates' ratios)."""
    return (x > 0).all(axis=0) | (x < 0).all(axis=0)


def power_of_ten(magnitude: np.ndarray) -> np.ndarray:
    """Per column, a power of ten that brings its largest |value| into [0.63, 6.3) (1 for
    all-zero columns): U(1, 5) stays as it is, so sin(theta) needs no weight of 10."""
    safe = np.where(magnitude > 0, magnitude, 1.0)
    return 10.0 ** np.round(np.log10(safe) - 0.3)


def exact_power(scale: float) -> sympy.Expr:
    return sympy.Integer(10) ** int(round(math.log10(scale)))


def split_rows(n: int, validation_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation rows; tiny data sets validate on the training rows."""
    order = rng.permutation(n)
    n_valid = int(round(n * validation_fraction))
    if n_valid < 1 or n - n_valid < 1:
        return order, order
    return order[n_valid:], order[:n_valid]


def cross_validation_folds(n_valid: int, rng: np.random.Generator, n: int) -> list[np.ndarray] | None:
    """`FOLDS` disjoint held-out folds over all `n` rows when the single validation part holds
    fewer than `MIN_HELD_OUT_ROWS` rows (20 to 200 points), else None: a score on four held-out
    rows cannot tell a formula from an interpolation of its training rows."""
    if n_valid >= MIN_HELD_OUT_ROWS or n < 2 * FOLDS:
        return None
    return np.array_split(rng.permutation(n), FOLDS)
