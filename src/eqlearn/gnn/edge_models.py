"""Edge (message) models: map pair features [..., E, F] to messages [..., E, M].

The graph code only calls `forward`; an edge model that can print itself (`to_sympy`) makes the
discovered law readable straight from its weights.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import sympy
import torch
from torch import nn

from eqlearn.eql.network import EQLNetwork

#: The seed's hidden layer: 8 constant, 16 identity, 8 product units (DESIGN.md §2).
SEED_EDGE_UNITS: dict[str, int] = {"constant": 8, "identity": 16, "product": 8}
#: Small layers train faster and leave fewer spurious terms; `exp` of log-inputs makes power laws.
POLYNOMIAL_EDGE_UNITS: dict[str, int] = {"constant": 2, "identity": 4, "product": 4}
POWER_LAW_EDGE_UNITS: dict[str, int] = {"constant": 1, "identity": 2, "exp": 2, "product": 2}


def default_edge_units(feature_names) -> dict[str, int]:
    """Power-law units when the inputs include logarithms, polynomial ones otherwise."""
    uses_logs = any(name.startswith("log_") for name in feature_names)
    return dict(POWER_LAW_EDGE_UNITS if uses_logs else POLYNOMIAL_EDGE_UNITS)


class EQLEdgeModel(nn.Module):
    """An EQL network as the message function: its weights are the force law.

    A small initial scale (0.3) matters: products of products of large random weights make the
    first steps explode.
    """

    def __init__(self, in_features: int, n_messages: int = 100, units: Mapping[str, int] = POLYNOMIAL_EDGE_UNITS,
                 depth: int = 2, init_scale: float = 0.3):
        super().__init__()
        self.network = EQLNetwork(in_features, n_messages, units=units, depth=depth, init_scale=init_scale)
        self.n_messages = n_messages

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.network(features)

    def to_sympy(self, inputs: Sequence[sympy.Expr], threshold: float = 1e-2, digits: int = 3) -> list[sympy.Expr]:
        return self.network.to_sympy(inputs, threshold=threshold, digits=digits)


def mlp(in_features: int, out_features: int, hidden: int = 300, layers: int = 3) -> nn.Sequential:
    """The reference's ReLU MLP: `layers` hidden layers of `hidden` units."""
    blocks, width = [], in_features
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, out_features))


class MLPEdgeModel(nn.Module):
    """The baseline message function (Cranmer et al. 2020): a black box to be fitted by SR later."""

    def __init__(self, in_features: int, n_messages: int = 100, hidden: int = 300, layers: int = 3):
        super().__init__()
        self.network = mlp(in_features, n_messages, hidden, layers)
        self.n_messages = n_messages

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.network(features)
