"""What training a particle GNN means: graph tensors, mini-batches and the loss.

The generic loop in `eqlearn.train` calls `GraphObjective` once per batch; the loss is the mean
absolute error of accelerations plus, scaled by the phase's regularization, an L1 penalty on the
messages and a sparsity penalty on the EQL weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eqlearn.eql.sparsity import weight_penalty
from eqlearn.errors import UserInputError
from eqlearn.gnn.model import ParticleGNN


HUBER_DELTA = 10.0


@dataclass
class GraphSet:
    """Many independent particle systems at one instant each: the GNN's training pairs."""

    positions: torch.Tensor  # [N, n, d]
    masses: torch.Tensor  # [N, n]
    charges: torch.Tensor  # [N, n]
    accelerations: torch.Tensor  # [N, n, d]

    @classmethod
    def from_trajectories(cls, trajectories, stride: int = 1) -> "GraphSet":
        """Every `stride`-th stored step of every simulation becomes one graph."""
        positions = np.asarray(trajectories.positions)[:, ::stride]
        steps = positions.shape[1]
        flat = lambda a: torch.as_tensor(np.asarray(a)[:, ::stride].reshape(-1, *a.shape[2:]), dtype=torch.float32)
        per_system = lambda a: torch.as_tensor(np.repeat(np.asarray(a), steps, axis=0), dtype=torch.float32)
        graphs = cls(flat(trajectories.positions), per_system(trajectories.masses),
                     per_system(trajectories.charges), flat(trajectories.accelerations))
        graphs.check_finite()
        return graphs

    def __len__(self) -> int:
        return self.positions.shape[0]

    def subset(self, index) -> "GraphSet":
        return GraphSet(self.positions[index], self.masses[index], self.charges[index], self.accelerations[index])

    def check_finite(self) -> None:
        for name in ("positions", "masses", "charges", "accelerations"):
            if not torch.isfinite(getattr(self, name)).all():
                raise UserInputError(f"the data set has NaN or infinite {name}")

    def batches(self, batch_size: int, generator: torch.Generator) -> list["GraphSet"]:
        order = torch.randperm(len(self), generator=generator)
        return [self.subset(order[i:i + batch_size]) for i in range(0, len(self), batch_size)]


class GraphObjective:
    """Acceleration error + regularization * (message_l1 * mean |message| + weight_penalty * EQL sparsity).

    The error is the Huber loss of m_i * (a_pred - a_true), i.e. of the net force: weighting by
    mass keeps light particles' huge accelerations from dominating. Huber (delta = 10) is
    quadratic for ordinary errors (so coefficients converge exactly) but linear for the rare close
    encounters of 1/r laws (heavy tails). The message penalty is
    the per-edge sum of |message| averaged over edges, independent of batch size and n.
    """

    def __init__(self, model: ParticleGNN, message_l1: float, weight_penalty: float, penalty_kind: str = "l1"):
        self.model, self.message_l1, self.weight_penalty, self.penalty_kind = model, message_l1, weight_penalty, penalty_kind

    def __call__(self, batch: GraphSet, regularization: float):
        predicted, messages = self.model(batch.positions, batch.masses, batch.charges)
        loss = force_error(predicted, batch)
        message_l1 = messages.abs().sum(-1).mean()
        total = loss
        if regularization and self.message_l1:
            total = total + regularization * self.message_l1 * message_l1
        if regularization and self.weight_penalty:
            total = total + regularization * self.weight_penalty * weight_penalty(self.model.edge_model, self.penalty_kind)
        metrics = {"loss": loss.item(), "message_l1": message_l1.item()}
        own_penalty = getattr(self.model.edge_model, "message_penalty", None)  # e.g. the KL of variational messages
        if own_penalty is not None:
            total = total + regularization * own_penalty
            metrics["message_penalty"] = own_penalty.item()
        return total, metrics


def force_error(predicted: torch.Tensor, batch: GraphSet) -> torch.Tensor:
    error = (predicted - batch.accelerations) * batch.masses.unsqueeze(-1)
    return torch.nn.functional.huber_loss(error, torch.zeros_like(error), delta=HUBER_DELTA)


@torch.no_grad()
def evaluate(model: ParticleGNN, graphs: GraphSet, batch_size: int = 4096) -> float:
    """Mean absolute acceleration error on `graphs` (the reference's metric)."""
    errors = []
    for start in range(0, len(graphs), batch_size):
        part = graphs.subset(slice(start, start + batch_size))
        predicted, _ = model(part.positions, part.masses, part.charges)
        errors.append((predicted - part.accelerations).abs().mean(dim=(-1, -2)))
    return float(torch.cat(errors).mean())
