"""Choosing the simplest formula that fits as well as the best: among restarts, and among the
terms of the output layer. An exact formula is usually also the shortest one that fits."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from eqlearn.eql.network import EQLNetwork

#: A normalised validation MSE counts as good as the best one e if it is at most
#: e * (1 + RELATIVE_TOLERANCE) + ABSOLUTE_TOLERANCE: on noisy data the noise floor decides, on
#: exact data an exact formula (~1e-10) beats a close approximation (~1e-5).
RELATIVE_TOLERANCE = 0.1
ABSOLUTE_TOLERANCE = 1e-6


def _as_good_as(error: float) -> float:
    return error * (1 + RELATIVE_TOLERANCE) + ABSOLUTE_TOLERANCE


@torch.no_grad()
def normalised_error(network: EQLNetwork, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """MSE / variance of the target, averaged over outputs; inf for a broken model."""
    variance = targets.var(dim=0, unbiased=False).clamp_min(1e-12)
    error = float((((network(inputs) - targets) ** 2).mean(dim=0) / variance).mean())
    return error if math.isfinite(error) else math.inf


def as_good_as_best(errors: list[float]) -> list[int]:
    """Indices of the models whose error is as good as the lowest one."""
    limit = _as_good_as(min(errors))
    return [i for i, e in enumerate(errors) if e <= limit]


@torch.no_grad()
def eliminate_output_terms(network: EQLNetwork, train: tuple, valid: tuple) -> None:
    """Backward elimination on the linear output layer: refit it by least squares, then drop
    terms (last hidden units) one at a time while the validation error stays as good.

    Training by gradient descent leaves small compensating terms (a little `exp(0.2*x)` next to
    `x`); a least-squares refit without them is exact when the remaining terms are.
    """
    output = network.output
    if output.units[0][0].name != "identity":
        return
    (x_train, y_train), (x_valid, y_valid) = train, valid
    h_train, h_valid = (_last_hidden(network, x).double().numpy() for x in (x_train, x_valid))
    for o in range(network.out_features):
        t, v = y_train[:, o].double().numpy(), y_valid[:, o].double().numpy()
        scale = max(float(v.var()), 1e-12)
        active = [int(i) for i in torch.nonzero(output.mask[o]).flatten()]
        refit = lambda kept: _refit(h_train, t, h_valid, v, kept, scale)
        active, coef, _ = backward_elimination(refit, active, _as_good_as)
        output.mask[o].zero_()
        output.weight[o].zero_()
        output.mask[o, active] = 1.0
        output.weight[o, active] = torch.as_tensor(coef, dtype=output.weight.dtype)


def backward_elimination(fit: Callable[[list[int]], tuple[np.ndarray, float]], active: list[int],
                         limit: Callable[[float], float]) -> tuple[list[int], np.ndarray, float]:
    """Drop terms one at a time, always the one the fit misses least, while the error of
    `fit(kept) -> (coefficients, error)` stays within `limit(error with every term)`.

    Returns the kept terms, their coefficients and the final error.
    """
    active = list(active)
    coefficients, error = fit(active)
    bound = limit(error)
    while len(active) > 1:
        trials = [(fit([a for a in active if a != drop]), drop) for drop in active]
        (trial_coefficients, trial_error), drop = min(trials, key=lambda trial: trial[0][1])
        if trial_error > bound:
            break
        active.remove(drop)
        coefficients, error = trial_coefficients, trial_error
    return active, coefficients, error


def _last_hidden(network: EQLNetwork, x: torch.Tensor) -> torch.Tensor:
    for layer in network.hidden:
        x = layer(x)
    return x


def _refit(h_train, t, h_valid, v, active: list[int], scale: float) -> tuple[np.ndarray, float]:
    coef = np.linalg.lstsq(h_train[:, active], t, rcond=None)[0]
    error = float(np.mean((h_valid[:, active] @ coef - v) ** 2)) / scale
    return coef, error if math.isfinite(error) else math.inf
