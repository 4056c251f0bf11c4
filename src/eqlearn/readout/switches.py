"""Laws that switch at a distance: the smooth steps a network learns, refitted as hard ones.

A switched edge model learns steps σ(a r + b), printed through tanh, at r0 = -b/a. A law that
switches on or off at a distance (a cutoff, a contact force, a spring that breaks) is exact only
with a hard step, so the read-out's terms, their step factors taken off, are refitted on both
sides of a hard step at r0: T·Heaviside(r - r0) above it and T·Heaviside(r0 - r) below. The
distance is the one whose least-squares law has the smallest held-out error, searched near each
step the network learned and across the data's pair distances; the data decide, never the truth.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import NeighbourGraph
from eqlearn.gnn.training import GraphSet
from eqlearn.readout.canonical import split_coefficient
from eqlearn.readout.refit import NetTerms, candidate_terms, distance_factor
from eqlearn.readout.row_weights import relative_weights
from eqlearn.readout.variables import evaluate
from eqlearn.vocabulary.symbols import r

#: Each learned step is searched within this fraction of its distance on either side.
STEP_SEARCH = 0.2
#: Distances tried per round of the search; each round narrows to two spacings around the best.
SEARCH_POINTS = 21
SEARCH_ROUNDS = 4
#: Graphs of each set the search fits on (thousands of pair distances near any step; the law at
#: the chosen distance is then refitted on all the refit's graphs).
SEARCH_GRAPHS = 500
#: ... and across the pair distances between these quantiles: a network may learn a step where the
#: jump in the force is small (a Coulomb force cut off where it is weak) far from where it is.
SPAN_QUANTILE = 0.02
#: Learned steps closer than this fraction of their distance are one step.
SAME_STEP = 0.02
#: A read-out with more distinct steps, or more step-free terms per message, than this is not a law
#: that switches at a distance but an unfinished fit (steps everywhere): no hard step is searched
#: for it, which would cost minutes (every trial distance is a least-squares fit over all terms).
MAX_LEARNED_STEPS = 3
MAX_STEP_FREE_TERMS = 16


def _root(argument: sympy.Expr) -> float | None:
    """-b/a where `argument` is a r + b with numbers a != 0 and b, else None."""
    if argument.free_symbols != {r}:
        return None
    argument = sympy.expand(argument)
    slope, offset = argument.coeff(r, 1), argument.coeff(r, 0)
    if not (slope.is_number and offset.is_number) or slope == 0 or sympy.expand(argument - slope * r - offset) != 0:
        return None
    return float(-offset / slope)


def step_distance(factor: sympy.Expr) -> float | None:
    """r0 of a step factor, tanh(a r + b)^k or Heaviside(a r + b): -b/a; None for any other factor."""
    base = factor.base if factor.is_Pow else factor
    return _root(base.args[0]) if isinstance(base, (sympy.tanh, sympy.Heaviside)) else None


def switch_distances(expr: sympy.Expr) -> list[float]:
    """Where a law switches: the distances of its Heaviside factors and of the conditions of its
    Piecewise parts (r < 2 → 2), sorted; what the verifier compares with the truth's."""
    found = {d for h in expr.atoms(sympy.Heaviside) if (d := _root(h.args[0])) is not None}
    found |= {d for c in expr.atoms(sympy.core.relational.Relational) if (d := _root(c.lhs - c.rhs)) is not None}
    return sorted(found)


def learned_steps(formulas) -> list[float]:
    """The distinct step distances in the terms of `formulas` (one where several are within
    SAME_STEP); a step at r <= 0 (the network's way of leaving one unused) counts as one at 0."""
    found = sorted({max(d, 0.0) for f in formulas for term in sympy.Add.make_args(sympy.expand(f))
                    for factor in sympy.Mul.make_args(term) if (d := step_distance(factor)) is not None})
    steps: list[float] = []
    for distance in found:
        if not steps or distance > steps[-1] * (1 + SAME_STEP):
            steps.append(distance)
    return steps


def without_steps(expr: sympy.Expr) -> list[sympy.Expr]:
    """The coefficient-free terms of `expr` with their step factors taken off (the law on either side)."""
    terms = []
    for term in sympy.Add.make_args(sympy.expand(expr)):
        kept = sympy.Mul(*[f for f in sympy.Mul.make_args(term) if step_distance(f) is None])
        monomial = split_coefficient(kept)[1]
        if not monomial.is_number and monomial not in terms:
            terms.append(monomial)
    return terms


def step_free_terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """The refit's candidates (`candidate_terms`) of the step-free terms and the whole powers around
    them (`whole_power_groups`); where these are more than MAX_STEP_FREE_TERMS (a network that spread
    the law over many inexact powers), the whole powers alone, of the factors that carry most."""
    terms = candidate_terms(sympy.Add(*without_steps(expr)))
    groups = whole_power_groups(expr)
    every = terms + [t for group in groups for t in group if t not in terms]
    if len(every) <= MAX_STEP_FREE_TERMS:
        return every
    kept: list[sympy.Expr] = []
    for group in groups:
        if kept and len(kept) + len(group) > MAX_STEP_FREE_TERMS:
            break
        kept += group
    return kept


def whole_power_groups(expr: sympy.Expr) -> list[list[sympy.Expr]]:
    """For each factor free of r in the step-free terms of `expr` (with the rest of their distance
    factor, such as a softened 1/(r - 0.01)), every whole power of r from one below the network's
    lowest power with it to one above its highest: on one side of a step a law is spread over the
    network's powers (2 - 2r above r = 2 as -0.75 r^1.5, or as a dozen powers from 0.3 to 1), and a
    low-degree polynomial in r lies among the whole powers around them. The factors whose terms'
    coefficients sum largest come first; a term already in an earlier group is not repeated."""
    groups: dict[sympy.Expr, list] = {}
    for term in sympy.Add.make_args(sympy.expand(expr)):
        coefficient, monomial = split_coefficient(sympy.Mul(*[f for f in sympy.Mul.make_args(term) if step_distance(f) is None]))
        free, radial = distance_factor(monomial)
        if monomial.is_number or (split := _power_of_r(radial)) is None:
            continue
        exponent, rest = split
        group = groups.setdefault(free * rest, [[], 0.0])
        group[0].append(exponent)
        group[1] += abs(float(coefficient))
    seen: list[sympy.Expr] = []
    ordered = []
    for rest, (exponents, _) in sorted(groups.items(), key=lambda item: -item[1][1]):
        powers = [twin for whole in range(math.floor(min(exponents)) - 1, math.ceil(max(exponents)) + 2)
                  if not (twin := sympy.powsimp(rest * r**whole)).is_number and twin not in seen]
        seen += powers
        ordered.append(powers)
    return ordered


def _power_of_r(radial: sympy.Expr) -> tuple[float, sympy.Expr] | None:
    """(p, rest) with `radial` = r^p rest, the lowest power of r pulled out of the numerator and the
    denominator (1/(r^1.556 - 0.01 r^0.556) → (-0.556, 1/(r - 0.01))); None where a part is not a
    sum of powers of r (an exponential)."""
    lowest, rests = [], []
    for part in sympy.fraction(radial):
        monomials = [m.as_coeff_exponent(r) for m in sympy.Add.make_args(sympy.expand(part))]
        if any(c.has(r) or not e.is_number for c, e in monomials):
            return None
        low = min(e for _, e in monomials)
        lowest.append(low)
        rest = sympy.expand(part / r**low)
        rests.append(rest.xreplace({p: p.base ** round(float(p.exp)) for p in rest.atoms(sympy.Pow)  # r^1.0 → r
                                    if p.exp.is_Float and abs(float(p.exp) - round(float(p.exp))) < 1e-9}))
    return float(lowest[0] - lowest[1]), rests[0] / rests[1]


def hard_step_formula(expr: sympy.Expr, distance: float) -> sympy.Expr:
    """Every step-free term (`step_free_terms`) once above and once below a hard step at `distance`."""
    above, below = sympy.Heaviside(r - sympy.Float(distance)), sympy.Heaviside(sympy.Float(distance) - r)
    terms = step_free_terms(expr)
    return sympy.Add(*[t * above for t in terms], *[t * below for t in terms])


class _SidesOfAStep:
    """The step-free terms summed over each receiver's edges above and below a trial distance."""

    def __init__(self, terms: list[sympy.Expr], graphs: GraphSet, edges: EdgeList | NeighbourGraph, softening: float):
        net = NetTerms(graphs, edges, softening)
        self.distances = net.values["r"]  # [G, E]
        on = np.ones_like(self.distances) if net.mask is None else net.mask.astype(float)
        self.values = np.stack([np.nan_to_num(evaluate(t, net.values)) * on for t in terms], axis=-1)  # [G, E, K]
        self.incidence = net.incidence
        self.total = self.incidence @ self.values  # [G, n, K]: both sides together

    def columns(self, distance: float) -> np.ndarray:
        above = self.incidence @ (self.values * (self.distances > distance)[..., None])
        return np.concatenate([above, self.total - above], axis=-1)  # [G, n, 2K]


def best_step(formulas: dict[int, sympy.Expr], graphs: GraphSet, held_out: GraphSet,
              edges: EdgeList | NeighbourGraph, softening: float, search_graphs: int | None = SEARCH_GRAPHS) -> float | None:
    """The step distance whose least-squares law (all axes together) has the smallest held-out
    error, searched near each learned step and across the training pairs' distances, on at most
    `search_graphs` graphs of each set (None: all); None where the formulas hold no step or too
    many to be a switch (MAX_LEARNED_STEPS, MAX_STEP_FREE_TERMS). Where several trial distances
    are equally good (no pair lies between them), the middle one is taken."""
    steps = learned_steps(formulas.values())
    if not steps or len(steps) > MAX_LEARNED_STEPS:
        return None
    terms = {axis: step_free_terms(f) for axis, f in formulas.items()}
    if max(map(len, terms.values())) > MAX_STEP_FREE_TERMS:
        return None
    if search_graphs is not None:
        graphs, held_out = graphs.spread(search_graphs), held_out.spread(search_graphs)
    sides = {axis: [_SidesOfAStep(t, g, edges, softening) for g in (graphs, held_out)] for axis, t in terms.items()}
    weights = [relative_weights(np.stack([NetTerms(g, edges, softening)(formulas[k]) for k in sorted(formulas)],
                                         axis=-1)) for g in (graphs, held_out)]  # as the refit weighs its rows
    forces = [(g.accelerations.double() * g.masses.double().unsqueeze(-1)).numpy() for g in (graphs, held_out)]
    problems = {axis: (weights, [f[..., axis].reshape(-1) * w for f, w in zip(forces, weights)]) for axis in formulas}

    def held_out_error(distance: float) -> float:
        total = 0.0
        for axis, (weights, targets) in problems.items():
            train, valid = (s.columns(distance).reshape(-1, s.values.shape[-1] * 2) * w[:, None]
                            for s, w in zip(sides[axis], weights))
            coefficients, *_ = np.linalg.lstsq(train, targets[0], rcond=None)
            total += float(np.sum((targets[1] - valid @ coefficients) ** 2) / max(np.sum(targets[1] ** 2), 1e-300))
        return total

    distances = next(iter(sides.values()))[0].distances
    spans = [(step * (1 - STEP_SEARCH), step * (1 + STEP_SEARCH)) for step in steps if step > 0]
    spans.append(tuple(np.quantile(distances, [SPAN_QUANTILE, 1 - SPAN_QUANTILE])))  # a step learned far off
    scored = []
    for low, high in spans:
        for _ in range(SEARCH_ROUNDS):
            trials = np.linspace(low, high, SEARCH_POINTS)
            errors = np.nan_to_num([held_out_error(d) for d in trials], nan=np.inf)
            equally_good = np.flatnonzero(errors <= errors.min() * (1 + 1e-9))
            best = int(equally_good[len(equally_good) // 2])
            spacing = trials[1] - trials[0]
            low, high = trials[best] - spacing, trials[best] + spacing
        scored.append((errors[best], float(trials[best])))
    return min(scored)[1]
