"""Primitive units of an EQL layer.

Each unit is written ONCE as a function of its arguments and a math backend (`TORCH` or `SYMPY`),
so the trained network and its printed formula come from the same definition and cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy
import torch

from eqlearn.errors import UserInputError

#: Inputs of `exp` are clamped here during training so one bad step cannot overflow to inf.
EXP_CLAMP = 20.0
#: Guarded division returns 0 where |denominator| is below this (Sahoo et al. 2018).
DIVISION_THRESHOLD = 1e-3
#: `sqrt` and `log` read their argument clamped from below here, so training never sees NaN.
DOMAIN_FLOOR = 1e-6


class _TorchMath:
    """Torch backend: numerically guarded where the pure formula can overflow or divide by zero."""

    sin = staticmethod(torch.sin)
    cos = staticmethod(torch.cos)
    tanh = staticmethod(torch.tanh)

    @staticmethod
    def exp(x):
        return torch.exp(torch.clamp(x, max=EXP_CLAMP))

    @staticmethod
    def sqrt(x):
        return torch.sqrt(torch.clamp(x, min=DOMAIN_FLOOR))

    @staticmethod
    def log(x):
        return torch.log(torch.clamp(x, min=DOMAIN_FLOOR))

    @staticmethod
    def divide(numerator, denominator):
        valid = denominator.abs() > DIVISION_THRESHOLD
        safe = torch.where(valid, denominator, torch.ones_like(denominator))
        return torch.where(valid, numerator / safe, torch.zeros_like(numerator))


class _SympyMath:
    """Sympy backend: the exact formula the guarded torch form computes inside its valid domain."""

    sin = staticmethod(sympy.sin)
    cos = staticmethod(sympy.cos)
    tanh = staticmethod(sympy.tanh)
    exp = staticmethod(sympy.exp)
    sqrt = staticmethod(sympy.sqrt)
    log = staticmethod(sympy.log)

    @staticmethod
    def divide(numerator, denominator):
        return numerator / denominator


TORCH = _TorchMath()
SYMPY = _SympyMath()


@dataclass(frozen=True)
class Unit:
    """A primitive function: `arity` linear inputs in, one activation out.

    `formula(math, *args)` is evaluated with either backend. `arity == 0` units (constants) output
    1 whatever their input, so the next layer's weights on them act as biases.
    """

    name: str
    arity: int
    formula: Callable

    def torch(self, *args):
        return self.formula(TORCH, *args)

    def __reduce__(self):
        """Pickled by name (its formula is a lambda), so trained networks pickle."""
        return get_unit, (self.name,)

    def sympy(self, *args):
        return self.formula(SYMPY, *args)


UNITS: dict[str, Unit] = {
    unit.name: unit
    for unit in [
        Unit("constant", 0, lambda m: 1),
        Unit("identity", 1, lambda m, x: x),
        Unit("square", 1, lambda m, x: x * x),
        Unit("sin", 1, lambda m, x: m.sin(x)),
        Unit("cos", 1, lambda m, x: m.cos(x)),
        Unit("exp", 1, lambda m, x: m.exp(x)),
        # σ(x) written through tanh: a printed law then holds (1 + tanh(x/2))/2, which numpy evaluates
        # without overflow for any x, where 1/(1 + e^(-x)) multiplied out by sympy holds e^(33 r)
        Unit("sigmoid", 1, lambda m, x: (1 + m.tanh(x / 2)) / 2),
        Unit("product", 2, lambda m, x, y: x * y),
        Unit("division", 2, lambda m, x, y: m.divide(x, y)),
        Unit("sqrt", 1, lambda m, x: m.sqrt(x)),
        Unit("log", 1, lambda m, x: m.log(x)),
        # exp of a weighted sum of logarithms is the monomial x1^a * x2^b * ...: a layer that feeds
        # these units only log inputs (`EQLLayer.restrict_inputs`) learns power laws directly
        Unit("monomial", 1, lambda m, x: m.exp(x)),
    ]
}


def get_unit(name: str) -> Unit:
    """Look a unit up by name, with an error that lists the valid names."""
    try:
        return UNITS[name]
    except KeyError:
        raise UserInputError(f"unknown EQL unit {name!r}; choose from {', '.join(UNITS)}") from None
