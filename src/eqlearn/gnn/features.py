"""Edge-model input features: each defined once, as a torch function and as a sympy expression.

The sympy form is written in the message variables of DESIGN.md §5 (dx, dy, dz, r, m1, m2, q1,
q2; r = |Δ| + 0.01), so a read-out in terms of features is automatically a law in those variables.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy
import torch

from eqlearn.errors import UserInputError
from eqlearn.physics.potentials import SOFTENING  # the pair distance is softened exactly as in the simulator
AXES = ("x", "y", "z")

r, m1, m2, q1, q2 = sympy.symbols("r m1 m2 q1 q2")
DELTA_SYMBOLS = sympy.symbols("dx dy dz")
#: |Δ| written in the message variables; the unit vector is Δ / |Δ|.
DISTANCE = r - sympy.Float(SOFTENING)
#: The symbolic counterpart of `PairContext.reversed`.
REVERSE_PAIR = {**{d: -d for d in DELTA_SYMBOLS}, m1: m2, m2: m1, q1: q2, q2: q1}


@dataclass(frozen=True)
class PairContext:
    """Everything an edge feature may read: Δ = x_receiver - x_sender and the two particles' m, q."""

    delta: torch.Tensor  # [..., E, d]
    m1: torch.Tensor  # [..., E] receiver
    m2: torch.Tensor  # [..., E] sender
    q1: torch.Tensor
    q2: torch.Tensor

    def reversed(self) -> "PairContext":
        """The same pairs seen from the other particle: Δ → -Δ, 1 ↔ 2."""
        return PairContext(-self.delta, self.m2, self.m1, self.q2, self.q1)

    @property
    def distance(self) -> torch.Tensor:
        return self.delta.norm(dim=-1)

    @property
    def r(self) -> torch.Tensor:
        return self.distance + SOFTENING

    def message_variables(self) -> dict[str, torch.Tensor]:
        """The DESIGN.md §5 variables of every edge: d{x,y,z} for the present axes, r, m1, m2, q1, q2."""
        values = {f"d{AXES[k]}": self.delta[..., k] for k in range(self.delta.shape[-1])}
        values.update(r=self.r, m1=self.m1, m2=self.m2, q1=self.q1, q2=self.q2)
        return values


@dataclass(frozen=True)
class EdgeFeature:
    name: str
    compute: Callable[[PairContext], torch.Tensor]
    expression: sympy.Expr


def _axis_features(dim: int) -> list[EdgeFeature]:
    features = []
    for k in range(dim):
        axis, delta = AXES[k], DELTA_SYMBOLS[k]
        features.append(EdgeFeature(f"d{axis}", lambda c, k=k: c.delta[..., k], delta))
        features.append(
            EdgeFeature(f"u{axis}", lambda c, k=k: c.delta[..., k] / c.distance.clamp_min(1e-12), delta / DISTANCE)
        )
    return features


_SCALAR_FEATURES = [
    EdgeFeature("r", lambda c: c.r, r),
    EdgeFeature("1/r", lambda c: 1 / c.r, 1 / r),
    EdgeFeature("1/r^2", lambda c: c.r**-2, r**-2),
    EdgeFeature("1/r^3", lambda c: c.r**-3, r**-3),
    EdgeFeature("log_r", lambda c: c.r.log(), sympy.log(r)),
    EdgeFeature("log_m1", lambda c: c.m1.log(), sympy.log(m1)),
    EdgeFeature("log_m2", lambda c: c.m2.log(), sympy.log(m2)),
    EdgeFeature("m1", lambda c: c.m1, m1),
    EdgeFeature("m2", lambda c: c.m2, m2),
    EdgeFeature("q1", lambda c: c.q1, q1),
    EdgeFeature("q2", lambda c: c.q2, q2),
]


def available_features(dim: int) -> dict[str, EdgeFeature]:
    return {f.name: f for f in [*_axis_features(dim), *_SCALAR_FEATURES]}


def _per_axis(prefix: str, dim: int) -> list[str]:
    return [f"{prefix}{a}" for a in AXES[:dim]]


def default_features(law: str, dim: int) -> list[str]:
    """Per-law edge inputs.

    All use the unit vector u = Δ/|Δ| instead of the seed's Δ: with r = |Δ| + 0.01 every central
    force is exactly u times a function of r (the seed's `dx m1 m2 / r^3` for r2 is only an
    approximation, off by up to 100 % for the closest pairs), and u is bounded, which keeps
    products of units well conditioned. spring gets r and 1/r (its force is 2(1 - r) u). The mass
    laws get logarithms of r and the masses, so one `exp` unit can form a power law m1^a m2^b r^c.
    """
    axes = _per_axis("u", dim)
    if law == "spring":
        return [*axes, "r", "1/r", "m1", "m2"]
    if law == "charge":
        return [*axes, "1/r^2", "q1", "q2"]
    return [*axes, "log_r", "log_m1", "log_m2"]


def seed_features(law: str, dim: int) -> list[str]:
    """The seed report's choice, kept for comparison: r2 used 1/r^3, the others r and 1/r."""
    extra = ["1/r^3"] if law == "r2" else ["r", "1/r"]
    return [*_per_axis("d", dim), *extra, "m1", "m2"]


class FeatureBuilder:
    """Turns pair contexts into the edge model's input matrix for a chosen feature list."""

    def __init__(self, names: Sequence[str], dim: int):
        table = available_features(dim)
        unknown = [n for n in names if n not in table]
        if unknown:
            raise UserInputError(
                f"unknown edge feature(s) {', '.join(unknown)} for dim={dim}; available: {', '.join(table)}"
            )
        if not names:
            raise UserInputError("the edge model needs at least one input feature")
        self.names = list(names)
        self.features = [table[n] for n in names]

    def __call__(self, context: PairContext) -> torch.Tensor:
        return torch.stack([f.compute(context) for f in self.features], dim=-1)

    @property
    def expressions(self) -> list[sympy.Expr]:
        return [f.expression for f in self.features]
