"""Edge (message) models: map pair features [..., E, F] to messages [..., E, M].

The graph code only calls `forward` (`EdgeModel`); an edge model that can print itself
(`ReadableEdgeModel`: `to_sympy`) makes the discovered law readable straight from its weights, and
one with a `message_penalty` (`PenalisedEdgeModel`: the KL of variational messages) adds that
regularizer to the training loss. The protocols say what a new edge model must offer.
"""
from __future__ import annotations

from typing import Mapping, Protocol, Sequence, Union, runtime_checkable

import sympy
import torch
from torch import nn

from eqlearn.eql.network import EQLNetwork
from eqlearn.errors import UserInputError
from eqlearn.gnn.catalog import CENTRAL_EDGE_UNITS, POLYNOMIAL_EDGE_UNITS, POWER_LAW_EDGE_UNITS, UNIT_VECTOR_FEATURES, mlp_variant
from eqlearn.gnn.catalog import SWITCHED_EDGE_UNITS as SWITCHED_EDGE_UNITS  # declared torch-free for the command line

EdgeUnits = Union[Mapping[str, int], Sequence[Mapping[str, int]]]


@runtime_checkable
class EdgeModel(Protocol):
    """What the particle GNN needs of an edge model: pair features [..., E, F] → messages [..., E, M]."""

    n_messages: int

    def __call__(self, features: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class ReadableEdgeModel(EdgeModel, Protocol):
    """An edge model whose weights print as formulas in its inputs: the law is read, not fitted."""

    def to_sympy(self, inputs: Sequence[sympy.Expr], threshold: float = 1e-2, digits: int = 3) -> list[sympy.Expr]: ...


@runtime_checkable
class PenalisedEdgeModel(EdgeModel, Protocol):
    """An edge model with a regularizer of its own (the KL of variational messages)."""

    message_penalty: torch.Tensor


def logarithm_flags(feature_names: Sequence[str]) -> list[bool]:
    """Which edge inputs are logarithms (named log_*): they feed the power-law `exp` units."""
    return [name.startswith("log_") for name in feature_names]


def default_edge_units(feature_names: Sequence[str]) -> EdgeUnits:
    """Power-law units when the inputs include logarithms (identity and product units: one per
    axis of the unit vector, at least two), polynomial ones otherwise."""
    if any(logarithm_flags(feature_names)):
        axes = max(2, sum(name in UNIT_VECTOR_FEATURES for name in feature_names))
        per_axis = {"identity", "product"}
        return [{unit: count * axes if unit in per_axis else count for unit, count in layer.items()}
                for layer in POWER_LAW_EDGE_UNITS]
    return dict(POLYNOMIAL_EDGE_UNITS)


class EQLEdgeModel(nn.Module):
    """An EQL network as the message function: its weights are the force law.

    A small initial scale (0.3) matters: products of products of large random weights make the
    first steps explode. `log_inputs` flags the inputs that are logarithms: in the first layer they
    feed only the `exp` units, and those read nothing else, so an `exp` unit is exactly a power law
    of positive quantities instead of a mixture such as exp(0.2 u_x) m1^0.15.
    """

    def __init__(self, in_features: int, n_messages: int = 100, units: EdgeUnits = POLYNOMIAL_EDGE_UNITS,
                 depth: int = 2, init_scale: float = 0.3, log_inputs: Sequence[bool] | None = None):
        super().__init__()
        self.network = EQLNetwork(in_features, n_messages, units=units, depth=depth, init_scale=init_scale)
        self.n_messages = n_messages
        if log_inputs is not None and any(log_inputs):
            first = self.network.hidden[0]
            plain = [not flag for flag in log_inputs]
            first.restrict_inputs({unit.name: log_inputs if unit.name == "exp" else plain
                                   for unit, _ in first.units if unit.arity})

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.network(features)

    def to_sympy(self, inputs: Sequence[sympy.Expr], threshold: float = 1e-2, digits: int = 3) -> list[sympy.Expr]:
        return self.network.to_sympy(inputs, threshold=threshold, digits=digits)


#: The sigmoid units read SWITCH_GAIN · r and SWITCH_GAIN: a step as sharp as the data demand
#: (a slope of tens per unit of r) is then a weight of a few, which training reaches.
SWITCH_GAIN = 10
#: The `exp` units read EXPONENT_GAIN · log r (and log m1, log m2): an exponent
#: is EXPONENT_GAIN times its weight. Laws of molecules are steep (r⁻¹³ in Lennard-Jones), and a
#: weight moves by about the learning rate per step: with a gain of 1, an exponent started near 0
#: had not reached −12 when training ended.
EXPONENT_GAIN = 4.0
#: With `exponentials` (`screened`) the `exp` units read RATE_GAIN · (r − 1) as well, so their rate k of
#: e^(k r) is RATE_GAIN times a weight: Buckingham's repulsion is e^(−12 r) in the run's unit of
#: length (the data's contact distance). Centred on r = 1, a change of k leaves the unit's value at
#: contact alone, where read as r it rescaled the whole term (e^k at r = 1): with a gain on plain r,
#: one screened run on the unlisted Morse law fitted worse (error 0.18, before it 0.0096). The rates
#: start at 0 (the exp units as monomials): started at random, a gain of 4 cost Yukawa seed 1 its law.
RATE_GAIN = 4.0


class CentralEQLEdgeModel(nn.Module):
    """An EQL that writes the message as Σ_v g_v(scalars) · vector_v, per axis.

    The vectors are the unit vector u = Δ/|Δ| and, when the data carry velocities, the relative
    velocity dv; the scalars are r, the masses, the charges and logarithms of the positive ones.
    Every pair force that does not single out a direction in space has this form (the scalar
    functions g_v are the EQL), so message k is the force along axis k by construction and no
    rotation of the axes can creep in. What g_v is, and which inputs it uses, is learned.
    The `exp` units read the logarithms times EXPONENT_GAIN, and with `exponentials` one more
    scalar, RATE_GAIN · (r − 1), that only they read (not plain r).
    With `switches`, two more scalars, SWITCH_GAIN · (r, 1), feed only the `sigmoid` units: steps
    in r (`SWITCHED_EDGE_UNITS`).
    """

    def __init__(self, feature_names: Sequence[str], dim: int, units: EdgeUnits = CENTRAL_EDGE_UNITS,
                 depth: int = 2, init_scale: float = 0.3, exponentials: bool = False, switches: bool = False):
        super().__init__()
        names = list(feature_names)
        vectors = [[f"{prefix}{axis}" for axis in "xyz"[:dim]] for prefix in ("u", "dv")]
        vectors = [group for group in vectors if all(name in names for name in group)]
        if not vectors:
            raise UserInputError("a central edge model needs the unit vector (ux, uy, ...) among its inputs")
        in_vectors = {name for group in vectors for name in group}
        self.scalar_names = [name for name in names if name not in in_vectors]
        if not self.scalar_names:
            raise UserInputError("a central edge model needs at least one scalar input (e.g. r)")
        self.register_buffer("scalar_index", torch.tensor([names.index(n) for n in self.scalar_names]), persistent=False)
        self.register_buffer("vector_index", torch.tensor([[names.index(n) for n in g] for g in vectors]),
                             persistent=False)
        if (switches or exponentials) and "r" not in names:
            raise UserInputError("a switched or screened edge model needs r among its inputs")
        logarithms = logarithm_flags(self.scalar_names)
        self.register_buffer("scalar_gain", torch.tensor([EXPONENT_GAIN if flag else 1.0 for flag in logarithms]),
                             persistent=False)
        self.r_index = names.index("r") if "r" in names else None
        self.switches, self.exponentials = switches, exponentials
        rate, step = (1 if exponentials else 0), (2 if switches else 0)
        self.network = EQLNetwork(len(self.scalar_names) + rate + step, len(vectors), units=units, depth=depth,
                                  init_scale=init_scale)
        self.n_messages = dim
        first = self.network.hidden[0]
        plain = [not flag for flag in logarithms] + [False] * (rate + step)
        exponent = [*logarithms, *[True] * rate, *[False] * step]
        steps = [False] * (len(self.scalar_names) + rate) + [True] * step
        reads = {"exp": exponent, "sigmoid": steps if switches else plain}
        first.restrict_inputs({unit.name: reads.get(unit.name, plain) for unit, _ in first.units if unit.arity})
        if exponentials:
            with torch.no_grad():  # the exp units start as monomials; a rate grows where the data ask for one
                first.weight[first.rows_of("exp"), len(self.scalar_names)] = 0.0

    @property
    def switch_index(self) -> int | None:
        """The input column of r the switches read (None without switches)."""
        return self.r_index if self.switches else None

    @torch.no_grad()
    def place_switches(self, distances: torch.Tensor) -> None:
        """Start the sigmoid units as steps at evenly spaced quantiles of the data's pair distances,
        alternately switching on and off, each rising over half the interquartile range. A step
        that starts outside the distances the data hold is flat on every pair, and no gradient then
        moves it to where the law switches. Uses the data only, never a law."""
        if self.switch_index is None:
            return
        first = self.network.hidden[0]
        rows = first.rows_of("sigmoid")
        sample = distances.detach().flatten().double()
        sample = sample[torch.isfinite(sample)][:: max(1, sample.numel() // 200_000)]
        levels = torch.linspace(0, 1, len(rows) + 2, dtype=torch.float64)[1:-1]
        places = torch.quantile(sample, levels)
        lower, upper = torch.quantile(sample, torch.tensor([0.25, 0.75], dtype=torch.float64))
        slope = 4.0 / max(float(upper - lower), 1e-6)  # σ goes from 0.12 to 0.88 across half the IQR
        r_column = len(self.scalar_names) + (1 if self.exponentials else 0)
        one_column = r_column + 1
        for k, (row, place) in enumerate(zip(rows, places)):
            sign = 1.0 if k % 2 == 0 else -1.0
            first.weight[row] = 0.0
            first.weight[row, r_column] = sign * slope / SWITCH_GAIN
            first.weight[row, one_column] = -sign * slope * float(place) / SWITCH_GAIN

    def _scalars(self, features: torch.Tensor) -> torch.Tensor:
        scalars = [features[..., self.scalar_index] * self.scalar_gain]
        r = features[..., self.r_index:self.r_index + 1] if self.r_index is not None else None
        if self.exponentials:
            scalars.append(RATE_GAIN * (r - 1))
        if self.switches:
            scalars += [SWITCH_GAIN * r, torch.full_like(r, SWITCH_GAIN)]
        return torch.cat(scalars, dim=-1) if len(scalars) > 1 else scalars[0]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        coefficients = self.network(self._scalars(features))  # [..., E, V]
        vectors = features[..., self.vector_index]  # [..., E, V, d]
        return (coefficients.unsqueeze(-1) * vectors).sum(-2)

    def to_sympy(self, inputs: Sequence[sympy.Expr], threshold: float = 1e-2, digits: int = 3) -> list[sympy.Expr]:
        scalars = [inputs[int(i)] * sympy.Float(float(gain)) if gain != 1 else inputs[int(i)]
                   for i, gain in zip(self.scalar_index, self.scalar_gain)]
        if self.exponentials:
            scalars.append(RATE_GAIN * (inputs[self.r_index] - 1))
        if self.switches:
            scalars += [SWITCH_GAIN * inputs[self.r_index], sympy.Integer(SWITCH_GAIN)]
        coefficients = self.network.to_sympy(scalars, threshold=threshold, digits=digits)
        return [sympy.expand(sum(g * inputs[int(group[k])] for g, group in zip(coefficients, self.vector_index)))
                for k in range(self.n_messages)]


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


class VariationalEdgeModel(nn.Module):
    """The baseline's `kl` variant: each message is a Gaussian whose mean and log-variance the MLP outputs.

    Training samples the messages; evaluation uses the mean. The KL divergence to N(0, 1), summed
    over message features and averaged over edges, pushes unneeded messages to pure noise (mean 0),
    which is what makes the few informative ones stand out. `message_penalty` holds
    `kl_weight` times the KL of the latest forward, for the training objective.
    """

    def __init__(self, in_features: int, n_messages: int = 100, hidden: int = 300, layers: int = 3,
                 kl_weight: float = 1.0):
        super().__init__()
        self.network = mlp(in_features, 2 * n_messages, hidden, layers)
        self.n_messages, self.kl_weight = n_messages, kl_weight
        self.message_penalty = torch.zeros(())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        mean, log_variance = self.network(features).chunk(2, dim=-1)
        kl = 0.5 * (mean**2 + log_variance.exp() - log_variance - 1).sum(-1).mean()
        self.message_penalty = self.kl_weight * kl
        if not self.training:
            return mean
        return mean + (0.5 * log_variance).exp() * torch.randn_like(mean)


def mlp_edge_model(variant: str, in_features: int, n_messages: int) -> nn.Module:
    """The baseline edge model of a variant; its message size is the caller's choice (d for bottleneck)."""
    model = VariationalEdgeModel if mlp_variant(variant).variational else MLPEdgeModel
    return model(in_features, n_messages)
