"""The swappable part of every demo: an EQL head, or an MLP in exactly the same place for comparison.

Both heads map [..., in_features] to [..., out_features]; only the EQL gets a sparsity phase, a
pruning step and a formula read-out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from eqlearn.eql.network import EQLNetwork
from eqlearn.eql.sparsity import weight_penalty
from eqlearn.eql.training import Phase

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


@dataclass
class HeadTraining:
    """The training settings every demo's heads share, so the EQL and the MLP head get one schedule;
    a demo's config extends it (and may change its defaults)."""

    seed: int = 0
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-2
    finetune_fraction: float = 0.25
    sparsity: float = 1e-4  # weight of the EQL head's sparsity penalty
    prune_threshold: float = 0.05
    threads: int | None = 1

    def phases(self, kind: str) -> list[Phase]:
        """EQL: sparsity phase, then prune and fine-tune without penalty. MLP: the same epochs, no penalty."""
        epochs, lr = self.epochs, self.lr
        if kind == "mlp":
            return [Phase(epochs=epochs, lr=lr, regularization=0.0, name="train")]
        finetune = min(max(1, math.floor(epochs * self.finetune_fraction)), epochs - 1) if epochs > 1 else 0
        phases = [Phase(epochs=epochs - finetune, lr=lr, regularization=1.0, name="sparse")]
        if finetune:
            phases.append(Phase(epochs=finetune, lr=lr, regularization=0.0, prune_threshold=self.prune_threshold,
                                name="fine-tune"))
        return phases


def sparsity_loss(model: nn.Module, weight: float, regularization: float) -> torch.Tensor:
    """The smoothed L1/2 penalty on every EQL layer in `model` (zero for an MLP head)."""
    if regularization == 0 or weight == 0:
        return torch.zeros(())
    return weight * regularization * weight_penalty(model, "l12")
