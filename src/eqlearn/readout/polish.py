"""Final joint fit of a read-out law's numbers and the learned masses, in float64.

The network learns the masses together with the law in float32 with a stochastic optimiser; that
finds the law's form, but small masses (a moon next to its planet) move the data by parts in 10⁴
and need a sharper fit. With the law's form fixed, the net forces are a smooth function of its
coefficients and the log-masses: L-BFGS on the relative net-force error (the refit's and the
verdict's measure) does the rest. The fit is kept only if the law explains held-out graphs at least as well afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
import torch

from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import NeighbourGraph
from eqlearn.gnn.training import GraphSet
from eqlearn.readout.variables import compile_expression
from eqlearn.symbolic import clean_expression
from eqlearn.vocabulary.formula import as_expression

POLISH_GRAPHS = 2000
POLISH_ITERATIONS = 100
#: Longer laws are no answer to polish: the network has not settled, and each term costs time.
POLISH_MAX_TERMS = 12


@dataclass
class PolishedLaw:
    law: list[sympy.Expr]
    masses: np.ndarray  # [S, n], the reference exactly 1
    held_out_error_before: float
    held_out_error_after: float
    accepted: bool


def _parameterise(law: list[sympy.Expr]):
    """The law with every term's coefficient replaced by a symbol: (expressions, symbols, starting
    values). Exponents and the softening inside a term stay as they are: they are the law's form."""
    expressions, symbols, start = [], [], []
    for expression in law:
        terms = []
        for term in sympy.Add.make_args(sympy.expand(as_expression(expression))):
            coefficient, rest = term.as_coeff_Mul()
            symbol = sympy.Symbol(f"c{len(symbols)}")
            symbols.append(symbol)
            start.append(float(coefficient))
            terms.append(symbol * rest)
        expressions.append(sympy.Add(*terms))
    return expressions, symbols, start


class _LawForces:
    """Net forces [G, n, d] of a parameterised law, differentiable in its numbers and the masses."""

    def __init__(self, law: list[sympy.Expr], symbols: list, edges: EdgeList | NeighbourGraph, softening: float):
        self.functions = [compile_expression(e, symbols, backend="torch") for e in law]
        self.edges, self.softening = edges, softening

    def __call__(self, graphs: GraphSet, masses: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        edges, context = graphs.float64_pairs(self.edges, self.softening, masses)
        values = context.message_variables()
        return edges.aggregate(torch.stack([f(values, *numbers) for f in self.functions], dim=-1))


def _relative_error(forces: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The relative net-force error of `gnn.training.relative_force_error`, in float64, with the floor
    f taken per graph (each graph's median |F|): with one floor for all graphs, a system could shrink
    its masses until its error vanished under the floor; per graph, its scale changes nothing."""
    size = target.norm(dim=-1)
    floor = size.median(dim=-1, keepdim=True).values.detach()
    return (((forces - target) ** 2).sum(-1) / (size**2 + floor**2)).mean()


def polish_law_and_masses(law: list[sympy.Expr], masses: np.ndarray, reference: tuple[int, int], graphs: GraphSet,
                          held_out: GraphSet, edges: EdgeList | NeighbourGraph, softening: float,
                          digits: int = 4) -> PolishedLaw:
    """Fit the law's numbers and the log-masses [S, n] (all but the `reference` particle's, which
    stays 1) jointly on `graphs`; judge on `held_out`. The law is written in these masses."""
    graphs = graphs.spread(POLISH_GRAPHS)
    expressions, symbols, start = _parameterise(law)
    if len(symbols) > POLISH_MAX_TERMS:
        return PolishedLaw(law, masses, float("nan"), float("nan"), False)
    forces = _LawForces(expressions, symbols, edges, softening)
    free = torch.ones(masses.shape, dtype=torch.float64)
    free[reference] = 0.0
    log_mass = torch.log(torch.as_tensor(masses, dtype=torch.float64)).requires_grad_(True)
    numbers = torch.tensor(start, dtype=torch.float64, requires_grad=True)

    def error(part: GraphSet, log, values) -> torch.Tensor:
        masses = torch.exp(log * free)  # [S, n]; on windows, the law's forces are averaged like the data's
        predicted = part.average(forces(part.states, masses[part.states.system], values))
        return _relative_error(predicted, part.accelerations.double() * masses[part.system].unsqueeze(-1))

    with torch.no_grad():
        before = float(error(held_out, log_mass, numbers).sqrt())
    optimiser = torch.optim.LBFGS([log_mass, numbers], max_iter=POLISH_ITERATIONS, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        optimiser.zero_grad()
        loss = error(graphs, log_mass, numbers)
        loss.backward()
        return loss

    try:
        optimiser.step(closure)
    except RuntimeError:  # a step into a region where the law is not finite
        return PolishedLaw(law, masses, before, before, False)
    with torch.no_grad():
        after = float(error(held_out, log_mass, numbers).sqrt())
    if not np.isfinite(after) or after > before:
        return PolishedLaw(law, masses, before, after, False)
    values = dict(zip(symbols, numbers.detach().tolist()))
    polished = [clean_expression(e.xreplace({s: sympy.Float(v) for s, v in values.items()}), digits=digits, drop_below=0.0)
                for e in expressions]
    masses = torch.exp(log_mass.detach() * free).numpy()
    return PolishedLaw(polished, masses, before, after, True)
