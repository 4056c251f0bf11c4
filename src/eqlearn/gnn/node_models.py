"""Node models: map a receiver's summed message (and its own properties) to its acceleration."""
from __future__ import annotations

import torch
from torch import nn

from eqlearn.gnn.edge_models import mlp


class MLPNodeModel(nn.Module):
    """A learned update, as in the seed: any invertible map of the true force is then as good.

    Inputs: the summed message, the receiver's mass, inverse mass and charge. Seeing the mass, the
    update can also undo any factor g(m1) in the messages, so F·g(m1) trains as well as F.
    """

    def __init__(self, n_messages: int, dim: int, hidden: int = 300, layers: int = 3):
        super().__init__()
        self.network = mlp(n_messages + 3, dim, hidden, layers)
        self.message_size = n_messages

    def forward(self, summed: torch.Tensor, masses: torch.Tensor, charges: torch.Tensor) -> torch.Tensor:
        node = torch.stack([masses, 1 / masses, charges], dim=-1)
        return self.network(torch.cat([summed, node], dim=-1))


class NewtonianNodeModel(nn.Module):
    """Newton's second law, fixed: a_i = Σ_j message_ij / m_i, so a message must BE the force.

    With more messages than dimensions (`n_messages` > dim) the force is a learned linear map of the
    summed messages, F_i = W Σ_j message_ij: the messages must then be linear in the force, as in
    Cranmer et al.'s argument, but any d independent combinations of them will do.
    """

    def __init__(self, dim: int, n_messages: int | None = None):
        super().__init__()
        self.message_size = n_messages or dim
        self.read_force = nn.Linear(self.message_size, dim, bias=False) if self.message_size > dim else None

    def forward(self, summed: torch.Tensor, masses: torch.Tensor, charges: torch.Tensor) -> torch.Tensor:
        force = summed if self.read_force is None else self.read_force(summed)
        return force / masses.unsqueeze(-1)
