"""Pair expressions as numbers: the one numeric evaluator of a law written in the message
variables (`eqlearn.vocabulary.symbols`), in numpy or torch."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import sympy
import torch

from eqlearn.vocabulary.formula import as_expression
from eqlearn.vocabulary.symbols import MESSAGE_VARIABLES

#: sympy functions a law may contain, as torch functions (lambdify's module mapping).
TORCH_FUNCTIONS = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "Abs": torch.abs, "sign": torch.sign,
                   "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh,
                   "Heaviside": lambda x, at_zero=0.5: torch.heaviside(x, torch.full_like(x, float(at_zero)))}

#: Compiled expressions kept for reuse (`_lambdified`): more than one refit's candidate terms.
COMPILED_EXPRESSIONS = 8192


def compile_expression(expr: sympy.Expr, parameters: Sequence[sympy.Symbol] = (),
                       backend: str = "numpy") -> Callable:
    """`expr` as a function `f(values, *numbers)` of a dict of message-variable arrays (absent ones
    count as 0) and the numbers of its `parameters`, broadcast to r's shape: compiled once, for
    expressions evaluated many times. `backend="torch"` takes and gives float64 tensors, so the
    numbers can be fitted by gradient (the polish of a law and its masses)."""
    arguments = (*MESSAGE_VARIABLES, *parameters)
    if backend == "torch":
        function = _lambdified(as_expression(expr), arguments, backend)

        def on_tensors(values: dict[str, torch.Tensor], *numbers) -> torch.Tensor:
            zero = torch.zeros_like(values["r"])
            out = function(*[values.get(str(s), zero) for s in MESSAGE_VARIABLES], *numbers)
            return torch.broadcast_to(torch.as_tensor(out, dtype=torch.float64), zero.shape)

        return on_tensors
    function = _lambdified(as_expression(expr), arguments, backend)

    def on(values: dict[str, np.ndarray], *numbers) -> np.ndarray:
        shape = np.shape(values["r"])
        with np.errstate(all="ignore"):
            out = function(*[values.get(str(s), np.zeros(shape)) for s in MESSAGE_VARIABLES], *numbers)
        return np.broadcast_to(np.asarray(out, dtype=float), shape)

    return on


@lru_cache(maxsize=COMPILED_EXPRESSIONS)
def _lambdified(expr: sympy.Basic, arguments: tuple, backend: str) -> Callable:
    """`sympy.lambdify` of `expr`, kept for the next call with an equal expression: a refit evaluates
    the same candidate terms thousands of times, and compiling costs far more than evaluating.
    Equal sympy expressions print alike (Floats of other precisions are not equal), so a kept
    function computes exactly what a fresh one would."""
    modules = [TORCH_FUNCTIONS, "math"] if backend == "torch" else "numpy"
    return sympy.lambdify(arguments, expr, modules=modules)


def evaluate(expr: sympy.Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    """`expr` on arrays of message variables: the one numeric evaluator of a pair expression.

    Read-out, refit, canonical form, verifier and the law as a model all use it, so they can never
    disagree on what an expression means.
    """
    return compile_expression(expr)(values)
