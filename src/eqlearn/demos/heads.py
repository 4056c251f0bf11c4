"""The swappable part of every demo: an EQL head, or an MLP in exactly the same place for comparison.

Both heads map [..., in_features] to [..., out_features]; only the EQL gets a sparsity phase, a
pruning step and a formula read-out.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from eqlearn.eql.network import EQLNetwork
from eqlearn.eql.sparsity import weight_penalty
from eqlearn.train import Phase

HEADS = ("eql", "mlp")


def make_head(
    kind: str, in_features: int, out_features: int, units: dict[str, int], init_scale: float = 1.0, mlp_width: int = 64
) -> nn.Module:
    """A one-hidden-layer EQL with `units` (weights ~ `init_scale`), or a two-hidden-layer ReLU MLP."""
    if kind == "eql":
        return EQLNetwork(in_features, out_features, units=units, depth=1, init_scale=init_scale)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(in_features, mlp_width), nn.ReLU(),
            nn.Linear(mlp_width, mlp_width), nn.ReLU(),
            nn.Linear(mlp_width, out_features),
        )
    raise ValueError(f"unknown head {kind!r}; choose from {', '.join(HEADS)}")


def training_phases(kind: str, epochs: int, lr: float, finetune_fraction: float, prune_threshold: float) -> list[Phase]:
    """EQL: sparsity phase, then prune and fine-tune without penalty. MLP: the same epochs, no penalty."""
    if kind == "mlp":
        return [Phase(epochs=epochs, lr=lr, regularization=0.0, name="train")]
    finetune = min(max(1, math.floor(epochs * finetune_fraction)), epochs - 1) if epochs > 1 else 0
    phases = [Phase(epochs=epochs - finetune, lr=lr, regularization=1.0, name="sparse")]
    if finetune:
        phases.append(Phase(epochs=finetune, lr=lr, regularization=0.0, prune_threshold=prune_threshold, name="fine-tune"))
    return phases


def sparsity_loss(model: nn.Module, weight: float, regularization: float) -> torch.Tensor:
    """The smoothed L1/2 penalty on every EQL layer in `model` (zero for an MLP head)."""
    if regularization == 0 or weight == 0:
        return torch.zeros(())
    return weight * regularization * weight_penalty(model, "l12")
