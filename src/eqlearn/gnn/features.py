"""Edge-model input features: each defined once, as a torch function and as a sympy expression.

The sympy form is written in the message variables (`eqlearn.vocabulary.symbols`; r = |Δ| + ε with the
softening ε the data were made with), so a read-out in terms of features is automatically a law in
those variables.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy
import torch

from eqlearn.errors import UserInputError
from eqlearn.vocabulary.symbols import AXES, DELTA, RELATIVE_VELOCITY, distance, m1, m2, q1, q2, r


@dataclass(frozen=True)
class PairContext:
    """Everything an edge feature may read: Δ = x_receiver - x_sender, the relative velocity (when
    the data carry velocities), the two particles' m and q, and the softening ε of r = |Δ| + ε."""

    delta: torch.Tensor  # [..., E, d]
    m1: torch.Tensor  # [..., E] receiver
    m2: torch.Tensor  # [..., E] sender
    q1: torch.Tensor
    q2: torch.Tensor
    dv: torch.Tensor | None = None  # [..., E, d]
    softening: float = 0.0

    def reversed(self) -> "PairContext":
        """The same pairs seen from the other particle: Δ → -Δ, v → -v, 1 ↔ 2."""
        dv = None if self.dv is None else -self.dv
        return PairContext(-self.delta, self.m2, self.m1, self.q2, self.q1, dv, self.softening)

    @property
    def distance(self) -> torch.Tensor:
        return self.delta.norm(dim=-1)

    @property
    def r(self) -> torch.Tensor:
        return self.distance + self.softening

    def message_variables(self) -> dict[str, torch.Tensor]:
        """The message variables of every edge: d{x,y,z} (and dv{x,y,z}) for the present axes, r, m1, m2, q1, q2."""
        values = {f"d{AXES[k]}": self.delta[..., k] for k in range(self.delta.shape[-1])}
        if self.dv is not None:
            values.update({f"dv{AXES[k]}": self.dv[..., k] for k in range(self.dv.shape[-1])})
        values.update(r=self.r, m1=self.m1, m2=self.m2, q1=self.q1, q2=self.q2)
        return values


@dataclass(frozen=True)
class EdgeFeature:
    name: str
    compute: Callable[[PairContext], torch.Tensor]
    expression: sympy.Expr


def _axis_features(dim: int, softening: float) -> list[EdgeFeature]:
    features = []
    for k in range(dim):
        axis, delta, dv = AXES[k], DELTA[k], RELATIVE_VELOCITY[k]
        features.append(EdgeFeature(f"d{axis}", lambda c, k=k: c.delta[..., k], delta))
        features.append(EdgeFeature(f"u{axis}", lambda c, k=k: c.delta[..., k] / c.distance.clamp_min(1e-12),
                                    delta / distance(softening)))
        features.append(EdgeFeature(f"dv{axis}", lambda c, k=k: c.dv[..., k], dv))
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
    EdgeFeature("q1q2", lambda c: c.q1 * c.q2, q1 * q2),
]


def available_features(dim: int, softening: float = 0.0) -> dict[str, EdgeFeature]:
    return {f.name: f for f in [*_axis_features(dim, softening), *_SCALAR_FEATURES]}


class FeatureBuilder:
    """Turns pair contexts into the edge model's input matrix for a chosen feature list."""

    def __init__(self, names: Sequence[str], dim: int, softening: float = 0.0):
        table = available_features(dim, softening)
        unknown = [n for n in names if n not in table]
        if unknown:
            raise UserInputError(
                f"unknown edge feature(s) {', '.join(unknown)} for dim={dim}; available: {', '.join(table)}"
            )
        if not names:
            raise UserInputError("the edge model needs at least one input feature")
        self.names = list(names)
        self.features = [table[n] for n in names]
        self.dim, self.softening = dim, softening

    @staticmethod
    def reads_velocities(names: Sequence[str]) -> bool:
        """Whether features with these names read the relative velocity."""
        return any(name.startswith("dv") for name in names)

    @property
    def uses_velocities(self) -> bool:
        return self.reads_velocities(self.names)

    def __call__(self, context: PairContext) -> torch.Tensor:
        return torch.stack([f.compute(context) for f in self.features], dim=-1)

    @property
    def expressions(self) -> list[sympy.Expr]:
        return [f.expression for f in self.features]
