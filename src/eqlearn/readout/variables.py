"""The message variables: the one list of names a pair law is written in (docs/design.md).

For the message from sender j to receiver i: `dx, dy, dz` are the components of Δ = x_i - x_j,
`dvx, dvy, dvz` those of the relative velocity v_i - v_j, `r` = |Δ| + ε (ε: the softening the
data were made with), `m1, q1` the receiver's mass and charge, `m2, q2` the sender's.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import sympy
import torch

from eqlearn.vocabulary.formula import as_expression

AXES = ("x", "y", "z")
DELTA = sympy.symbols("dx dy dz")
RELATIVE_VELOCITY = sympy.symbols("dvx dvy dvz")
r, m1, m2, q1, q2 = sympy.symbols("r m1 m2 q1 q2")
#: Every variable a message expression may use, in a fixed order (lambdify's argument order).
MESSAGE_VARIABLES = (*DELTA, *RELATIVE_VELOCITY, r, m1, m2, q1, q2)
NAMESPACE = {str(s): s for s in MESSAGE_VARIABLES}
#: The same pair seen from the other particle: Δ → -Δ, v → -v, 1 ↔ 2.
REVERSE_PAIR = {**{d: -d for d in (*DELTA, *RELATIVE_VELOCITY)}, m1: m2, m2: m1, q1: q2, q2: q1}


def variable_names(dim: int, velocities: bool = False) -> list[str]:
    """The variables of a d-dimensional law, in the order equations.json lists them."""
    names = [f"d{a}" for a in AXES[:dim]]
    if velocities:
        names += [f"dv{a}" for a in AXES[:dim]]
    return names + ["r", "m1", "m2", "q1", "q2"]


def distance(softening: float) -> sympy.Expr:
    """|Δ| written in the message variables: r - ε."""
    return r - sympy.Float(softening) if softening else r


#: sympy functions a law may contain, as torch functions (lambdify's module mapping).
TORCH_FUNCTIONS = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "Abs": torch.abs, "sign": torch.sign,
                   "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh}


def compile_expression(expr: sympy.Expr, parameters: Sequence[sympy.Symbol] = (),
                       backend: str = "numpy") -> Callable:
    """`expr` as a function `f(values, *numbers)` of a dict of message-variable arrays (absent ones
    count as 0) and the numbers of its `parameters`, broadcast to r's shape: compiled once, for
    expressions evaluated many times. `backend="torch"` takes and gives float64 tensors, so the
    numbers can be fitted by gradient (the polish of a law and its masses)."""
    arguments = (*MESSAGE_VARIABLES, *parameters)
    if backend == "torch":
        function = sympy.lambdify(arguments, as_expression(expr), modules=[TORCH_FUNCTIONS, "math"])

        def on_tensors(values: dict[str, torch.Tensor], *numbers) -> torch.Tensor:
            zero = torch.zeros_like(values["r"])
            out = function(*[values.get(str(s), zero) for s in MESSAGE_VARIABLES], *numbers)
            return torch.broadcast_to(torch.as_tensor(out, dtype=torch.float64), zero.shape)

        return on_tensors
    function = sympy.lambdify(arguments, as_expression(expr), modules="numpy")

    def on(values: dict[str, np.ndarray], *numbers) -> np.ndarray:
        shape = np.shape(values["r"])
        with np.errstate(all="ignore"):
            out = function(*[values.get(str(s), np.zeros(shape)) for s in MESSAGE_VARIABLES], *numbers)
        return np.broadcast_to(np.asarray(out, dtype=float), shape)

    return on


def evaluate(expr: sympy.Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    """`expr` on arrays of message variables: the one numeric evaluator of a pair expression.

    Read-out, refit, canonical form, verifier and the law as a model all use it, so they can never
    disagree on what an expression means.
    """
    return compile_expression(expr)(values)
