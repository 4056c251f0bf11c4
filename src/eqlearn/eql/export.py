"""A fitted formula as a numpy callable or a torch module: both evaluate the printed expression
itself (not the network it was read from), so what is printed is what is computed."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import sympy
import torch
from torch import nn

from eqlearn.symbolic import to_latex
from eqlearn.vocabulary.formula import parse_formula


def numpy_function(expressions: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]) -> Callable:
    """`f(X) -> array [n_samples, n_outputs]` for a 2-D `X` whose columns are `symbols`."""
    functions = [sympy.lambdify(list(symbols), e, "numpy") for e in expressions]

    def evaluate(X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(all="ignore"):
            columns = [np.broadcast_to(np.asarray(f(*X.T), dtype=np.float64), X.shape[:1]) for f in functions]
        return np.column_stack(columns)

    return evaluate


class FormulaModule(nn.Module):
    """A `torch.nn.Module` computing the formulas: input [..., n_features], output [..., n_outputs].

    It has no parameters; it pickles through the formulas' text, so it can be saved with the model.
    """

    def __init__(self, expressions: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]):
        super().__init__()
        self.expressions = [sympy.sstr(e) for e in expressions]
        self.names = [s.name for s in symbols]
        self._build()

    def _build(self) -> None:
        symbols = [sympy.Symbol(name) for name in self.names]
        namespace = {s.name: s for s in symbols}
        self._functions = [
            sympy.lambdify(symbols, parse_formula(e, namespace, what="formula"), "torch") for e in self.expressions
        ]

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_functions")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != len(self.names):
            raise ValueError(f"the formula reads {len(self.names)} features, got {x.shape[-1]}")
        columns = x.unbind(-1)
        outputs = [torch.as_tensor(f(*columns), dtype=x.dtype).expand(x.shape[:-1]) for f in self._functions]
        return torch.stack(outputs, dim=-1)

    def extra_repr(self) -> str:
        return "; ".join(self.expressions)


class FormulaExports:
    """`sympy()`, `latex()`, `numpy()` and `pytorch()` of a fitted estimator that holds
    `expressions_` (one formula per output), `equations_` (candidates, with a `sympy` column) and
    `feature_names_`; a 1-D target gives one formula instead of a list."""

    def sympy(self, index: int | None = None):
        """The fitted formula (a list of formulas for a 2-D `y`); `index` picks row `index` of
        `equations_` instead of the selected one."""
        self._check_fitted()
        formulas = self.expressions_ if index is None else self.equations_["sympy"].iloc[index]
        formulas = formulas if isinstance(formulas, list) else [formulas]
        return formulas[0] if self._y_was_vector else list(formulas)

    def latex(self, index: int | None = None):
        formulas = self.sympy(index)
        return to_latex(formulas) if self._y_was_vector else [to_latex(f) for f in formulas]

    def numpy(self, index: int | None = None):
        """A callable `f(X)` evaluating the formula on a 2-D array with the training columns."""
        formulas = self.sympy(index)
        evaluate = numpy_function(formulas if isinstance(formulas, list) else [formulas], self._symbols())
        return (lambda X: evaluate(X)[:, 0]) if self._y_was_vector else evaluate

    def pytorch(self, index: int | None = None) -> FormulaModule:
        """A `torch.nn.Module` computing the formula: [..., n_features] -> [..., n_outputs]."""
        formulas = self.sympy(index)
        return FormulaModule(formulas if isinstance(formulas, list) else [formulas], self._symbols())

    def _symbols(self) -> list[sympy.Symbol]:
        return [sympy.Symbol(name) for name in self.feature_names_]
