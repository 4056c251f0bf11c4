"""Ratios N(x) / D(x) of two EQL outputs, trained without ever dividing.

Physics is full of ratios: (m1 r1 + m2 r2) / (m1 + m2), omega / (1 - v/c), m / sqrt(1 - v^2/c^2).
A division unit trained by gradient descent meets poles wherever its denominator crosses zero, and
mostly fits badly. Here one network computes both N and D, and training minimises the residual of
y D - N, divided by that of the best constant, (y - mean y) D, so D = N = 0 is no solution: a
smooth problem with no pole anywhere. The quotient is formed only to predict and to print.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import sympy
import torch
from torch import nn

from eqlearn.eql.network import EQLNetwork
from eqlearn.eql.selection import as_good_as, backward_elimination, scaled_lstsq, term_columns


class RatioNetwork(nn.Module):
    """An `EQLNetwork` with 2k outputs read as k ratios: output o is out[o] / out[k + o]."""

    def __init__(self, network: EQLNetwork):
        super().__init__()
        self.network = network
        self.out_features = network.out_features // 2

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.network(x)
        return out[..., : self.out_features], out[..., self.out_features:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        numerator, denominator = self.parts(x)
        return numerator / denominator

    def parts_sympy(self, inputs: Sequence, threshold: float = 1e-2,
                    digits: int = 15) -> list[tuple[sympy.Expr, sympy.Expr]]:
        """(numerator, denominator) per output, kept apart so each can be refitted term by term."""
        parts = self.network.to_sympy(inputs, threshold=threshold, digits=digits)
        return [(parts[o], parts[self.out_features + o]) for o in range(self.out_features)]

    def to_sympy(self, inputs: Sequence, threshold: float = 1e-2, digits: int = 3) -> list[sympy.Expr]:
        return [n / d if d != 0 else sympy.nan for n, d in self.parts_sympy(inputs, threshold, digits)]


def ratio_residual(numerator: torch.Tensor, denominator: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per column: mean (y D - N)^2 / mean ((y - mean y) D)^2, the pole-free training error of
    N / D. Zero exactly when y = N / D wherever D is not zero; 1 for N = mean(y) D, the best
    constant, as for a normalised MSE; D's own scale divides out."""
    residual = targets * denominator - numerator
    centred = (targets - targets.mean(dim=0)) * denominator
    return (residual ** 2).mean(dim=0) / (centred ** 2).mean(dim=0).clamp_min(1e-12)


#: Ratios with more terms than this are not refitted: backward elimination grows with the square
#: of the terms, and a formula that long is a failed fit, not a law.
MAX_RATIO_TERMS = 40


def refit_ratio(ratio: tuple[sympy.Expr, sympy.Expr], symbols, train: tuple[np.ndarray, np.ndarray],
                valid: tuple[np.ndarray, np.ndarray]) -> tuple[sympy.Expr, float]:
    """Refit the coefficients of every additive term of the numerator and the denominator by
    linear least squares on y D = N (the denominator's largest term fixed at coefficient 1), then
    drop terms while the held-out error of N / D stays as good.

    Returns the refitted N / D and its normalised validation error (inf when there is nothing
    to refit). Like `refit_terms`, it keeps the formula's own terms.
    """
    numerator, denominator = ratio
    if numerator == 0 or denominator == 0:  # a head pruned away entirely: no ratio to refit
        return sympy.Integer(0), math.inf
    n_shapes, n_train, n_valid = term_columns(numerator, symbols, train[0], valid[0])
    d_shapes, d_train, d_valid = term_columns(denominator, symbols, train[0], valid[0])
    if not n_shapes or not d_shapes or len(n_shapes) + len(d_shapes) > MAX_RATIO_TERMS:
        return sympy.Integer(0), math.inf
    (_, t), (_, v) = train, valid
    anchor = int(np.argmax(np.abs(d_train).mean(axis=0)))
    free = [i for i in range(len(d_shapes)) if i != anchor]
    # columns: numerator terms, then -y * (denominator terms other than the anchor)
    a_train = np.column_stack([n_train, -t[:, None] * d_train[:, free]]) if free else n_train
    rhs = t * d_train[:, anchor]
    scale = max(float(v.var()), 1e-12)
    n_terms = len(n_shapes)

    def fit(kept: list[int]) -> tuple[np.ndarray, float]:
        coefficients = scaled_lstsq(a_train[:, kept], rhs)
        full = np.zeros(a_train.shape[1])
        full[kept] = coefficients
        top = n_valid @ full[:n_terms]
        bottom = d_valid[:, anchor] + (d_valid[:, free] @ full[n_terms:] if free else 0.0)
        with np.errstate(all="ignore"):
            error = float(np.mean((top / bottom - v) ** 2)) / scale
        return full, error if math.isfinite(error) else math.inf

    kept, coefficients, error = backward_elimination(fit, list(range(a_train.shape[1])), as_good_as)
    top = sympy.Add(*[sympy.Float(coefficients[i]) * n_shapes[i] for i in range(n_terms) if i in kept])
    bottom = d_shapes[anchor] + sympy.Add(*[sympy.Float(coefficients[n_terms + j]) * d_shapes[k]
                                            for j, k in enumerate(free) if n_terms + j in kept])
    return top / bottom, error
