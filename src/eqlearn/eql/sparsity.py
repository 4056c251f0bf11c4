"""Sparsity for EQL weights: penalties that drive weights to zero, and pruning that keeps them there.

A sparse network is what makes the read-out a short formula rather than a long polynomial.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from eqlearn.eql.catalog import PENALTY_NAMES
from eqlearn.eql.network import EQLLayer, eval_mode

#: Below |w| < a the smoothed L1/2 penalty is a quartic, so its gradient stays finite at zero.
SMOOTH_L12_A = 0.05


def eql_layers(model: nn.Module) -> list[EQLLayer]:
    """All EQL layers inside `model`, wherever they sit in a larger architecture."""
    return [m for m in model.modules() if isinstance(m, EQLLayer)]


class HardConcreteGate(nn.Module):
    """Relaxed L0 gates (Louizos et al. 2018): one stretched, clipped concrete variable per weight.

    In training mode a call samples gates in [0, 1] (many exactly 0 or 1), so the expected number of
    non-zero weights is differentiable; in eval mode the gates are their deterministic median.
    """

    def __init__(self, shape, temperature: float = 2 / 3, stretch=(-0.1, 1.1), init_open: float = 0.9):
        super().__init__()
        self.temperature = temperature
        self.low, self.high = stretch
        self.log_alpha = nn.Parameter(torch.full(tuple(shape), math.log(init_open / (1 - init_open))))

    def forward(self) -> torch.Tensor:
        if self.training:
            u = torch.rand_like(self.log_alpha).clamp(1e-6, 1 - 1e-6)
            s = torch.sigmoid((u.log() - (-u).log1p() + self.log_alpha) / self.temperature)
        else:
            s = torch.sigmoid(self.log_alpha)
        return (s * (self.high - self.low) + self.low).clamp(0.0, 1.0)

    def probability_open(self) -> torch.Tensor:
        """P(gate != 0) per weight: the expected-L0 penalty sums these."""
        return torch.sigmoid(self.log_alpha - self.temperature * math.log(-self.low / self.high))


def attach_gates(model: nn.Module, **gate_options) -> None:
    """Give every EQL layer in `model` hard-concrete gates, so the "l0" penalty can act on it."""
    for layer in eql_layers(model):
        layer.gate = HardConcreteGate(layer.weight.shape, **gate_options).to(layer.weight)


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


def l0_penalty(model: nn.Module) -> torch.Tensor:
    """Expected number of non-zero (unpruned, gated) weights; layers without gates add nothing."""
    total = torch.zeros(())
    for layer in eql_layers(model):
        if isinstance(layer.gate, HardConcreteGate):
            total = total + (layer.gate.probability_open() * layer.mask).sum()
    return total


PENALTIES = dict(zip(PENALTY_NAMES, (l1_penalty, smooth_l12_penalty, l0_penalty), strict=True))


def weight_penalty(model: nn.Module, kind: str) -> torch.Tensor:
    try:
        penalty = PENALTIES[kind]
    except KeyError:
        raise ValueError(f"unknown sparsity penalty {kind!r}; choose from {', '.join(PENALTIES)}") from None
    return penalty(model)


@torch.no_grad()
def prune(model: nn.Module, threshold: float) -> int:
    """Freeze every weight with |w| < threshold at exactly zero; returns how many remain active.

    Gates end their job here: their deterministic value is folded into the weights and they are
    removed, so fine-tuning trains plain weights without gate noise.
    """
    active = 0
    with eval_mode(model):
        for layer in eql_layers(model):
            weight = layer.effective_weight()
            layer.mask.mul_((weight.abs() >= threshold).to(layer.mask.dtype))
            layer.weight.copy_(weight * layer.mask)
            layer.gate = None
            active += int(layer.mask.sum())
    return active


def count_active_weights(model: nn.Module) -> int:
    with eval_mode(model), torch.no_grad():
        return sum(int((layer.effective_weight() != 0).sum()) for layer in eql_layers(model))
