"""Sparsity for EQL weights: penalties that drive weights to zero, and pruning that keeps them there.

A sparse network is what makes the read-out a short formula rather than a long polynomial.
"""
from __future__ import annotations

import torch
from torch import nn

from eqlearn.eql.network import EQLLayer

#: Below |w| < a the smoothed L1/2 penalty is a quartic, so its gradient stays finite at zero.
SMOOTH_L12_A = 0.05


def eql_layers(model: nn.Module) -> list[EQLLayer]:
    """All EQL layers inside `model`, wherever they sit in a larger architecture."""
    return [m for m in model.modules() if isinstance(m, EQLLayer)]


def l1_penalty(model: nn.Module) -> torch.Tensor:
    return sum(layer.effective_weight().abs().sum() for layer in eql_layers(model))


def smooth_l12_penalty(model: nn.Module, a: float = SMOOTH_L12_A) -> torch.Tensor:
    """Smoothed L1/2 (Fan et al. 2014, used by Kim et al.): sqrt|w| above a, a quartic below."""
    total = 0.0
    for layer in eql_layers(model):
        w = layer.effective_weight()
        small = w.abs() < a
        quartic = -w**4 / (8 * a**3) + 3 * w**2 / (4 * a) + 3 * a / 8
        total = total + torch.where(small, quartic, w.abs()).sqrt().sum()
    return total


PENALTIES = {"l1": l1_penalty, "l12": smooth_l12_penalty}


def weight_penalty(model: nn.Module, kind: str) -> torch.Tensor:
    try:
        return PENALTIES[kind](model)
    except KeyError:
        raise ValueError(f"unknown sparsity penalty {kind!r}; choose from {', '.join(PENALTIES)}") from None


@torch.no_grad()
def prune(model: nn.Module, threshold: float) -> int:
    """Freeze every weight with |w| < threshold at exactly zero; returns how many remain active."""
    active = 0
    for layer in eql_layers(model):
        layer.mask.mul_((layer.effective_weight().abs() >= threshold).to(layer.mask.dtype))
        layer.weight.mul_(layer.mask)
        active += int(layer.mask.sum())
    return active


def count_active_weights(model: nn.Module) -> int:
    return sum(int((layer.effective_weight() != 0).sum()) for layer in eql_layers(model))
