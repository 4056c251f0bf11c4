"""The particle GNN: pair features → edge model → sum per receiver → node model → accelerations."""
from __future__ import annotations

import sympy
import torch
from torch import nn

from eqlearn.gnn.features import FeatureBuilder, PairContext
from eqlearn.gnn.graph import EdgeList
from eqlearn.readout.variables import REVERSE_PAIR


def pair_messages(features: FeatureBuilder, edge_model: nn.Module, context: PairContext,
                  antisymmetric: bool = False) -> torch.Tensor:
    """The edge model's messages [..., E, M] for these pairs; with `antisymmetric`, (φ(i, j) - φ(j, i)) / 2
    with the pair evaluated both ways. Shared by the particle GNN and the PyG layer, so both send the same messages."""
    messages = edge_model(features(context))
    if not antisymmetric:
        return messages
    return (messages - edge_model(features(context.reversed()))) / 2


class ParticleGNN(nn.Module):
    """Message passing with swappable edge and node models; it does not know which ones it runs.

    `antisymmetric=True` builds Newton's third law in: the message is (φ(i, j) - φ(j, i)) / 2, so
    the force on i from j is minus the force on j from i, and every term of φ that is even under
    swapping the pair (|Δ|², r alone, ...) cancels exactly instead of having to be trained away.
    """

    def __init__(self, features: FeatureBuilder, edge_model: nn.Module, node_model: nn.Module, edges: EdgeList,
                 antisymmetric: bool = False):
        super().__init__()
        self.features, self.edge_model, self.node_model = features, edge_model, node_model
        self.antisymmetric = antisymmetric
        self.n_nodes = edges.n_nodes
        # buffers, so that the edge list follows the model to its device (`model.to("cuda")`)
        self.register_buffer("receivers", edges.receivers.clone(), persistent=False)
        self.register_buffer("senders", edges.senders.clone(), persistent=False)
        self.register_buffer("reverse", edges.reverse_index(), persistent=False)

    @property
    def edges(self) -> EdgeList:
        """The graph's edges, on the model's device."""
        return EdgeList(senders=self.senders, receivers=self.receivers, n_nodes=self.n_nodes)

    def pair_context(self, positions, masses, charges, velocities=None) -> PairContext:
        """The edges' pair quantities, with the softening the features were built for."""
        velocities = velocities if self.features.uses_velocities else None
        return self.edges.pair_context(positions, masses, charges, velocities, self.features.softening)

    def messages(self, positions, masses, charges, velocities=None) -> torch.Tensor:
        """Messages [..., E, M] for node arrays [..., n, d] and [..., n].

        Where every edge's reverse is in the graph (complete graphs), φ(j, i) is that edge's own
        output, so the antisymmetric messages cost one pass of the edge model, not two.
        """
        context = self.pair_context(positions, masses, charges, velocities)
        if not (self.antisymmetric and self.reverse is not None):
            return pair_messages(self.features, self.edge_model, context, self.antisymmetric)
        messages = self.edge_model(self.features(context))
        return (messages - messages[..., self.reverse, :]) / 2

    def message_expressions(self, **readout) -> list[sympy.Expr]:
        """Every message as a formula in the pair variables (edge models that can print themselves);
        `readout` (threshold, digits) goes to the edge model's `to_sympy`."""
        formulas = self.edge_model.to_sympy(self.features.expressions, **readout)
        if self.antisymmetric:
            formulas = [sympy.expand((f - f.xreplace(REVERSE_PAIR)) / 2) for f in formulas]
        return formulas

    def forward(self, positions, masses, charges, velocities=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Accelerations [..., n, d] and the messages that produced them."""
        messages = self.messages(positions, masses, charges, velocities)
        summed = self.edges.aggregate(messages)
        return self.node_model(summed, masses, charges), messages
