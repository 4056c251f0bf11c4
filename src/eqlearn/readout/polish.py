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
#: Momentum estimates tighter than this (relative) are held only this firmly: the fit's own data fix
#: such masses at least as well, and a stiffer term only stalls L-BFGS (exact accelerations: errors
#: of 1e-8 made the masses 10x worse).
PRIOR_ERROR_FLOOR = 1e-3


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


def _momentum_penalty(prior: tuple[np.ndarray, np.ndarray] | None, scale: float):
    """log-masses [S, n] -> scale × Σ ((log m - log m0 - c_s) / e)², the χ² of the mass ratios against
    the momentum estimate `prior` = (log m0, relative errors e; inf: no estimate), c_s each system's
    free common offset (momentum gives ratios only). None without a prior."""
    if prior is None or not np.isfinite(prior[1]).any():
        return None
    log_prior = torch.as_tensor(prior[0], dtype=torch.float64)
    weights = torch.as_tensor(np.where(np.isfinite(prior[1]), 1.0 / np.maximum(prior[1], PRIOR_ERROR_FLOOR) ** 2, 0.0))

    def penalty(log_mass: torch.Tensor) -> torch.Tensor:
        deviation = log_mass - log_prior
        offset = (weights * deviation).sum(-1, keepdim=True) / weights.sum(-1, keepdim=True).clamp_min(1e-300)
        return scale * (weights * (deviation - offset) ** 2).sum()
    return penalty


def polish_law_and_masses(law: list[sympy.Expr], masses: np.ndarray, reference: tuple[int, int], graphs: GraphSet,
                          held_out: GraphSet, edges: EdgeList | NeighbourGraph, softening: float,
                          digits: int = 4, prior: tuple[np.ndarray, np.ndarray] | None = None) -> PolishedLaw:
    """Fit the law's numbers and the log-masses [S, n] (all but the `reference` particle's, which
    stays 1) jointly on `graphs`; judge on `held_out`. The law is written in these masses.

    `prior` = (log mass ratios, their relative errors) from momentum conservation
    (`LearnedMasses.momentum_prior`) holds each mass as firmly as its error says: a mass the fit's
    windows hardly see (an outer planet over days) then stays where momentum over every window width
    put it, instead of following the noise. Its weight treats the fit's error at the start as the
    noise of every target coordinate, so both are χ² in the same units. (The median particle's error
    instead made the prior too weak to hold Uranus and Neptune on DE421 with noise of 1e-9 au: a
    light body's force below the relative error's floor can shrink to hide its misfit.)"""
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
        # the error at the start as the noise of every target coordinate: χ² = G n d × error / it
        penalty = _momentum_penalty(prior, float(error(graphs, log_mass, numbers)) / graphs.accelerations.numel())
    optimiser = torch.optim.LBFGS([log_mass, numbers], max_iter=POLISH_ITERATIONS, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        optimiser.zero_grad()
        loss = error(graphs, log_mass, numbers)
        if penalty is not None:
            loss = loss + penalty(log_mass * free)
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
