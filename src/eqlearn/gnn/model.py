"""The particle GNN: pair features → edge model → sum per receiver → node model → accelerations."""
from __future__ import annotations

import torch
from torch import nn

from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList


class ParticleGNN(nn.Module):
    """Message passing with swappable edge and node models; it does not know which ones it runs."""

    def __init__(self, features: FeatureBuilder, edge_model: nn.Module, node_model: nn.Module, edges: EdgeList):
        super().__init__()
        self.features, self.edge_model, self.node_model, self.edges = features, edge_model, node_model, edges

    def messages(self, positions, masses, charges) -> torch.Tensor:
        """Messages [..., E, M] for node arrays [..., n, d] and [..., n]."""
        context = self.edges.pair_context(positions, masses, charges)
        return self.edge_model(self.features(context))

    def forward(self, positions, masses, charges) -> tuple[torch.Tensor, torch.Tensor]:
        """Accelerations [..., n, d] and the messages that produced them."""
        messages = self.messages(positions, masses, charges)
        summed = self.edges.aggregate(messages)
        return self.node_model(summed, masses, charges), messages
