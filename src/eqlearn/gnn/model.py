"""The particle GNN: pair features → edge model → sum per receiver → node model → accelerations."""
from __future__ import annotations

import math

import sympy
import torch
from torch import nn

from eqlearn.gnn.features import FeatureBuilder, PairContext
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import NeighbourGraph
from eqlearn.vocabulary.symbols import REVERSE_PAIR, m1, m2, q1, q2


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
    `graph` is a fixed `EdgeList` (complete graphs) or a `NeighbourGraph` rebuilt for every state.
    """

    def __init__(self, features: FeatureBuilder, edge_model: nn.Module, node_model: nn.Module,
                 graph: EdgeList | NeighbourGraph, antisymmetric: bool = False):
        super().__init__()
        self.features, self.edge_model, self.node_model = features, edge_model, node_model
        self.antisymmetric = antisymmetric
        self.n_nodes = graph.n_nodes
        self.neighbours = graph if isinstance(graph, NeighbourGraph) else None
        fixed = self.neighbours is None
        # buffers, so that a fixed edge list follows the model to its device (`model.to("cuda")`)
        self.register_buffer("receivers", graph.receivers.clone() if fixed else None, persistent=False)
        self.register_buffer("senders", graph.senders.clone() if fixed else None, persistent=False)
        self.register_buffer("reverse", graph.reverse_index() if fixed else None, persistent=False)

    @property
    def edges(self) -> EdgeList | NeighbourGraph:
        """The graph: its `for_positions(positions, box)` gives the edges of any batch of states (a
        fixed edge list on the model's device is the same for all)."""
        if self.neighbours is not None:
            return self.neighbours
        return EdgeList(senders=self.senders, receivers=self.receivers, n_nodes=self.n_nodes)

    def pair_context(self, positions, masses, charges, velocities=None, box=None, edges: EdgeList | None = None) -> PairContext:
        """The edges' pair quantities, with the softening the features were built for; `box` [..., d],
        a periodic box per graph (None: open space); `edges`, the graph of these positions where the
        caller has built it already."""
        edges = self.edges.for_positions(positions, box) if edges is None else edges
        velocities = velocities if self.features.uses_velocities else None
        return edges.pair_context(positions, masses, charges, velocities, self.features.softening, box)

    def messages(self, positions, masses, charges, velocities=None, box=None, edges: EdgeList | None = None) -> torch.Tensor:
        """Messages [..., E, M] for node arrays [..., n, d] and [..., n] (in periodic boxes [..., d]),
        padded slots of a neighbour graph included (`edges.mask` says which exist).

        Where every edge's reverse is in the graph (complete graphs), φ(j, i) is that edge's own
        output, so the antisymmetric messages cost one pass of the edge model, not two."""
        context = self.pair_context(positions, masses, charges, velocities, box, edges)
        if not (self.antisymmetric and self.reverse is not None):
            return pair_messages(self.features, self.edge_model, context, self.antisymmetric)
        messages = self.edge_model(self.features(context))
        return (messages - messages[..., self.reverse, :]) / 2

    def message_expressions(self, mass_unit: float = 1.0, charge_unit: float = 1.0, **readout) -> list[sympy.Expr]:
        """Every message as a formula in the pair variables (edge models that can print themselves);
        `readout` (threshold, digits) goes to the edge model's `to_sympy`.

        `mass_unit`: the masses the network read were `mass_unit` times those the formula is written
        in (learned masses: trained in one unit, reported in the reference particle's). The formula
        is written in the reported masses *before* small terms are dropped, so what counts as small
        does not depend on the unit training happened to drift to. `charge_unit` likewise for
        learned charges (signed)."""
        inputs = self.features.expressions
        scaled = {}
        if mass_unit != 1.0:
            shift = sympy.Float(math.log(mass_unit))
            scaled.update({sympy.log(m1): shift + sympy.log(m1), sympy.log(m2): shift + sympy.log(m2),
                           m1: mass_unit * m1, m2: mass_unit * m2})
        if charge_unit != 1.0:
            scaled.update({q1: charge_unit * q1, q2: charge_unit * q2})
        if scaled:
            inputs = [e.xreplace(scaled) for e in inputs]
        formulas = self.edge_model.to_sympy(inputs, **readout)
        if self.antisymmetric:
            formulas = [sympy.expand((f - f.xreplace(REVERSE_PAIR)) / 2) for f in formulas]
        return formulas

    def forward(self, positions, masses, charges, velocities=None, box=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Accelerations [..., n, d] and the messages that produced them: [..., E, M], or on a
        neighbour graph with padded slots the existing edges' messages [E_existing, M] (so
        penalties and counts over messages see real pairs only). `box` [..., d]: periodic boxes."""
        edges = self.edges.for_positions(positions, box)
        messages = self.messages(positions, masses, charges, velocities, box, edges)
        summed = edges.aggregate(messages)
        return self.node_model(summed, masses, charges), messages if edges.mask is None else messages[edges.mask]
