"""Pair potentials: the known force laws of the field and user laws written as sympy expressions.

Every potential is central, U(r, m1, m2, q1, q2) with the softened distance r = |x1 - x2| + 0.01
(docs/design.md §5), so the force on particle 1 from particle 2 is -dU/dr times the unit vector
(x1 - x2) / |x1 - x2|. Forces work on numpy arrays and torch tensors alike, so the simulator and
the models share one definition of the physics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy
import torch

from eqlearn.errors import UserInputError
from eqlearn.vocabulary.formula import parse_formula
from eqlearn.vocabulary.symbols import SOFTENING

#: Drag coefficient of the `damped` law: force -DAMPING * (v1 - v2) on particle 1 from particle 2.
DAMPING = 0.25
#: The symbols a potential expression may use.
SYMBOLS = tuple(sympy.symbols("r m1 m2 q1 q2", real=True))
_SYMBOL_NAMES = tuple(str(symbol) for symbol in SYMBOLS)
#: Output spacing for a user law: the spring's, a smooth law on the same scale.
CUSTOM_DT = 1e-2


def array_namespace(array):
    """The module (torch or numpy) whose functions apply to `array`."""
    return torch if isinstance(array, torch.Tensor) else np


def squared_norm(vectors):
    """Squared length over the last axis, summed component by component: numpy's reductions over
    a short last axis are several times slower than these element-wise adds."""
    return sum(vectors[..., k] * vectors[..., k] for k in range(vectors.shape[-1]))


@dataclass(frozen=True)
class PairPotential:
    """A central pair law: its energy U as a sympy string and its radial force -dU/dr.

    `radial_force(r, m1, m2, q1, q2)` and `energy(...)` accept numpy arrays or torch tensors.
    `damping` > 0 adds the drag -damping * (v1 - v2), which needs the relative velocity.
    """

    name: str
    expression: str
    default_dt: float
    radial_force: Callable
    energy: Callable
    damping: float = 0.0

    @property
    def uses_charge(self) -> bool:
        return bool({"q1", "q2"} & {str(s) for s in parse_potential(self.expression).free_symbols})

    def pair_force(self, delta, m1, m2, q1, q2, dv=None, softening: float = SOFTENING):
        """Force on particle 1 from particle 2; `delta` = x1 - x2 [..., d], the rest [...]; the law
        reads r = |delta| + `softening`."""
        distance = array_namespace(delta).sqrt(squared_norm(delta))
        magnitude = self.radial_force(distance + softening, m1, m2, q1, q2)
        force = (magnitude / distance)[..., None] * delta
        if self.damping:
            if dv is None:
                raise ValueError(f"the {self.name} law needs the relative velocity dv = v1 - v2")
            force = force - self.damping * dv
        return force


def _compile(expr: sympy.Expr) -> Callable:
    """`expr` as one function of (r, m1, m2, q1, q2) that runs on numpy arrays or torch tensors."""
    numpy_form = sympy.lambdify(SYMBOLS, expr, modules="numpy")
    torch_form = sympy.lambdify(SYMBOLS, expr, modules="torch")

    def evaluate(r, m1, m2, q1, q2):
        form = torch_form if isinstance(r, torch.Tensor) else numpy_form
        return form(r, m1, m2, q1, q2) + 0 * r  # a constant still broadcasts to r's shape

    return evaluate


def parse_potential(expression: str) -> sympy.Expr:
    """A potential's text as a sympy expression in r, m1, m2, q1, q2, by the whitelist grammar
    (`eqlearn.vocabulary.formula`): a potential from a data file or a flag is data, never code."""
    return parse_formula(expression, dict(zip(_SYMBOL_NAMES, SYMBOLS)), what="potential")


def _builtin(name: str, expression: str, default_dt: float, radial_force: Callable,
             damping: float = 0.0) -> PairPotential:
    return PairPotential(name, expression, default_dt, radial_force,
                         _compile(parse_potential(expression)), damping)


# Radial forces -dU/dr written out by hand from the docs/design.md §5 table, independent of sympy, so
# the custom-expression path can be checked against them.
def _spring_force(r, m1, m2, q1, q2):
    return -2 * (r - 1)


def _r1_force(r, m1, m2, q1, q2):
    return -m1 * m2 / r


def _r2_force(r, m1, m2, q1, q2):
    return -m1 * m2 / (r * r)


def _charge_force(r, m1, m2, q1, q2):
    return q1 * q2 / (r * r)


def _discontinuous_force(r, m1, m2, q1, q2):
    return array_namespace(r).where(r >= 2, -2 * (r - 1), 0 * r)


#: Output time steps follow the reference data sets.
LAWS: dict[str, PairPotential] = {
    law.name: law
    for law in [
        _builtin("spring", "(r - 1)**2", 1e-2, _spring_force),
        _builtin("r1", "m1*m2*log(r)", 5e-3, _r1_force),
        _builtin("r2", "-m1*m2/r", 1e-3, _r2_force),
        _builtin("charge", "q1*q2/r", 1e-3, _charge_force),
        _builtin("damped", "(r - 1)**2", 2e-2, _spring_force, damping=DAMPING),
        _builtin("discontinuous", "Piecewise((0, r < 2), ((r - 1)**2, True))", 1e-2,
                 _discontinuous_force),
    ]
}


def custom_potential(expression: str) -> PairPotential:
    """A potential from a user expression; its force comes from symbolic differentiation in r."""
    energy = parse_potential(expression)
    r, m1, m2, q1, q2 = SYMBOLS
    if r not in energy.free_symbols:
        raise UserInputError(f"potential {expression!r} does not depend on r: it exerts no force")
    swapped = energy.xreplace({m1: m2, m2: m1, q1: q2, q2: q1})
    if sympy.simplify(energy - swapped) != 0:
        raise UserInputError(f"potential {expression!r} must be symmetric under swapping particles"
                             " 1 and 2 (m1 <-> m2, q1 <-> q2)")
    radial_force = _compile(-sympy.diff(energy, r))
    return PairPotential("custom", sympy.sstr(energy), CUSTOM_DT, radial_force, _compile(energy))


def get_potential(law: str | None = None, expression: str | None = None) -> PairPotential:
    """A built-in law by name, or a custom one from an expression in r, m1, m2, q1, q2."""
    if (law is None) == (expression is None):
        raise UserInputError("give exactly one of a law name or a potential expression")
    if expression is not None:
        return custom_potential(expression)
    if law not in LAWS:
        raise UserInputError(f"unknown law {law!r}; choose one of {', '.join(LAWS)}")
    return LAWS[law]
