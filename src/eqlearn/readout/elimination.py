"""Backward elimination for linear least squares: the refit's path from all terms down to one.

`linear_elimination_path` gives the fit at every length; `distinct_columns` first keeps one of
every set of columns that are equal up to a factor, so the path never chooses between copies.
"""
from __future__ import annotations

import numpy as np

#: Backward elimination drops one term per step from this many columns down; above it, several.
ONE_BY_ONE = 40


def linear_elimination_path(columns: np.ndarray, target: np.ndarray) -> list[tuple[list[int], np.ndarray, float]]:
    """Backward elimination for linear least squares, down to one term: (kept columns,
    coefficients, fraction of variance unexplained) at every step.

    The term dropped is the one whose loss raises the residual least, c_j² / [(XᵀX)⁻¹]_jj. One QR
    factorisation X = QR of all columns carries the whole path: the fit on any subset S of them
    is the small problem R[:, S] c ≈ Qᵀy (plus the fixed residual outside the span of X), so each
    step costs a k × k factorisation instead of one of the data, and no Gram matrix squares the
    condition number of nearly collinear power laws. Above ONE_BY_ONE columns (an unfinished
    read-out's hundreds of terms) a quarter of the excess goes per step, so the path costs
    seconds, not minutes; no law that long is ever the one kept.
    """
    scale = np.linalg.norm(columns, axis=0)
    scale[scale == 0] = 1.0
    q, r_all = np.linalg.qr(columns / scale)
    projected = q.T @ target
    outside = float(np.sum((target - q @ projected) ** 2))
    total = max(float(np.sum(target**2)), 1e-300)
    active = list(range(columns.shape[1]))
    path = []
    while active:
        reduced = r_all[:, active]
        solution, *_ = np.linalg.lstsq(reduced, projected, rcond=None)
        fvu = (outside + float(np.sum((projected - reduced @ solution) ** 2))) / total
        path.append((list(active), solution / scale[active], fvu))
        if len(active) == 1:
            break
        inverse_r = np.linalg.pinv(np.linalg.qr(reduced, mode="r"))
        spread = (inverse_r**2).sum(axis=1)  # diagonal of (XᵀX)⁻¹ for the scaled columns
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.where(spread > 0, solution**2 / spread, 0.0)
        cost = np.nan_to_num(cost, nan=0.0)
        drop = 1 if len(active) <= ONE_BY_ONE else max(1, (len(active) - ONE_BY_ONE) // 4)
        for position in sorted(np.argsort(cost, kind="stable")[:drop], reverse=True):
            active.pop(int(position))
    return path


#: Columns whose directions agree to this many parts in 10^12 are one term to the data.
SAME_COLUMN = 1e-12


def distinct_columns(columns: np.ndarray, sizes: list[int]) -> list[int]:
    """Indices of the columns to keep, one per set of columns equal up to a factor (q1³ q2 and
    q1 q2 for charges of ±1): the one of the shortest term, so the law is written in its
    shortest form and the elimination never chooses between copies by rounding noise."""
    norms = np.linalg.norm(columns, axis=0)
    unit = columns / np.where(norms > 0, norms, 1.0)
    same = np.abs(np.abs(unit.T @ unit) - 1.0) <= SAME_COLUMN
    kept = []
    for j in sorted(range(columns.shape[1]), key=lambda j: (sizes[j], j)):
        if norms[j] > 0 and not same[j, kept].any():
            kept.append(j)
    return sorted(kept)
