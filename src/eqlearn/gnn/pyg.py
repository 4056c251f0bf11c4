"""An eqlearn edge model as the message function of a PyTorch Geometric layer.

PyG's `edge_index` is (source, target), the order of `EdgeList.edge_index`, and PyG's `_i` is the
target: edge j → i reads Δ = x_i - x_j, m1 = m_i and m2 = m_j, the pair variables of the particle
GNN. A (trained) EQL edge model therefore sends the same messages in a PyG network, and its
formula still reads in the same variables. Needs `pip install "eqlearn[pyg]"`.
"""
from __future__ import annotations

import torch
from torch import nn

from eqlearn.errors import UserInputError
from eqlearn.gnn.features import FeatureBuilder, PairContext
from eqlearn.gnn.graph import checked_edge_index
from eqlearn.gnn.model import ParticleGNN, pair_messages
from eqlearn.vocabulary.periodic import displacement

try:
    from torch_geometric.nn import MessagePassing
except ImportError as error:
    raise ImportError('eqlearn.gnn.pyg needs PyTorch Geometric: pip install "eqlearn[pyg]"') from error


class EdgeModelConv(MessagePassing):
    """Pair features → edge model → sum per target node: the particle GNN's message step as a PyG layer.

    Node tensors carry no batch dimension ([N, d] and [N]); many systems are one disjoint graph, as
    PyG batches them. The output [N, M] is what `ParticleGNN` hands its node model.
    """

    def __init__(self, features: FeatureBuilder, edge_model: nn.Module, antisymmetric: bool = False):
        super().__init__(aggr="add", flow="source_to_target", node_dim=0)  # node_dim 0: masses are [N]
        self.features, self.edge_model, self.antisymmetric = features, edge_model, antisymmetric

    @classmethod
    def from_particle_gnn(cls, model: ParticleGNN) -> "EdgeModelConv":
        """The message step of a particle GNN; it shares (not copies) the edge model."""
        return cls(model.features, model.edge_model, model.antisymmetric)

    def forward(self, positions: torch.Tensor, masses: torch.Tensor, charges: torch.Tensor, edge_index: torch.Tensor,
                velocities: torch.Tensor | None = None, box: torch.Tensor | None = None) -> torch.Tensor:
        """Summed messages [N, M] for positions [N, d], masses and charges [N], edge_index [2, E] (source, target);
        `box` [d] or [N, d]: the periodic box each node's system lives in (minimum-image pairs)."""
        edge_index = checked_edge_index(edge_index, positions.shape[0])
        if not self.features.uses_velocities:
            velocities = None
        elif velocities is None:
            raise UserInputError(f"the edge features {', '.join(self.features.names)} read velocities: pass velocities")
        box = None if box is None else torch.as_tensor(box, dtype=positions.dtype).broadcast_to(positions.shape)
        return self.propagate(edge_index, positions=positions, masses=masses, charges=charges, velocities=velocities, box=box)

    def message(self, positions_i: torch.Tensor, positions_j: torch.Tensor, masses_i: torch.Tensor,
                masses_j: torch.Tensor, charges_i: torch.Tensor, charges_j: torch.Tensor,
                velocities_i: torch.Tensor | None, velocities_j: torch.Tensor | None,
                box_i: torch.Tensor | None) -> torch.Tensor:
        dv = None if velocities_i is None else velocities_i - velocities_j
        context = PairContext(displacement(positions_i, positions_j, box_i), masses_i, masses_j, charges_i, charges_j, dv,
                              self.features.softening)
        return pair_messages(self.features, self.edge_model, context, self.antisymmetric)
