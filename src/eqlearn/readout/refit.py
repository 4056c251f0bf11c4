"""Refit the terms of a read-out law against the data: exact coefficients, spurious terms gone.

Behind a Newtonian node model the summed messages are the net force, m_i a_i, which is linear in
the coefficients of the messages' additive terms. So the terms read from the trained EQL (and the
same terms with their exponents snapped to simple values) can be refitted by least squares on the
training targets, and the terms the fit can spare are eliminated one by one. This is the EQL's
own "prune, then refit the last layer", done exactly: every candidate term comes from the network,
none from a separate search. The network's pieces may also be recombined: a distance factor
learned in one term times the mass and charge factor of another (`recombined_terms`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy

from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import NeighbourGraph
from eqlearn.gnn.training import GraphSet
from eqlearn.readout.canonical import split_coefficient
from eqlearn.readout.elimination import distinct_columns, linear_elimination_path
from eqlearn.readout.exponents import EXPONENT_SNAP, POLISH_GRAPHS, POLISH_TERMS, polish_exponents
from eqlearn.readout.law import formula_size
from eqlearn.readout.row_weights import noise_fvu, relative_weights, target_noise
from eqlearn.readout.variables import evaluate
from eqlearn.symbolic import clean_expression
from eqlearn.vocabulary.symbols import r

#: A term may go if the fraction of variance left unexplained stays below max(2 x, + 1e-4) of the full fit's.
FVU_FACTOR = 2.0
FVU_SLACK = 1e-4
#: Standard errors of the noise's share of a held-out fvu by which a shorter law may exceed the best.
NOISE_SPREAD = 3.0
#: Candidates on the elimination path with at most this many terms are stored with their formula.
READABLE_CANDIDATE_TERMS = 8


@dataclass
class RefittedMessage:
    """One message after the refit; `fvu` is its unexplained fraction of the held-out net-force
    variance, `candidates` the elimination path it was chosen from (size, train and held-out fvu)."""

    axis: int
    expression: sympy.Expr
    fvu: float
    candidates: list[dict] = field(default_factory=list)

    @property
    def r2(self) -> float:
        return 1.0 - self.fvu


def snap_exponents(term: sympy.Expr, step: float = 0.5, tolerance: float = EXPONENT_SNAP) -> sympy.Expr:
    """`term` with each numeric power p replaced by the nearest multiple of `step` within
    `tolerance`, and each exponential factor exp(k r) likewise (k = 0 drops it)."""
    def nearest(value: float):
        snapped = sympy.Rational(round(value / step)) * sympy.Rational(step)
        return snapped if abs(value - float(snapped)) <= tolerance else None

    replacements = {}
    for power in term.atoms(sympy.Pow):
        if power.exp.is_Float and (p := nearest(float(power.exp))) is not None:
            replacements[power] = power.base**p
    for factor in term.atoms(sympy.exp):
        coefficient, rest = factor.args[0].as_coeff_Mul()
        if coefficient.is_Float and (k := nearest(float(coefficient))) is not None:
            replacements[factor] = sympy.exp(k * rest)
    return term.xreplace(replacements)


#: Snapped twins of every read-out term: to the nearest multiple of 1/2 and of 1, each within 1/2.
SNAPS = ((0.5, 0.5), (1.0, 0.5))


def _monomials(expr: sympy.Expr) -> list[sympy.Expr]:
    monomials = [split_coefficient(term)[1] for term in sympy.Add.make_args(sympy.expand(expr))]
    return [m for m in monomials if not m.is_number]


def _unique(terms) -> list[sympy.Expr]:
    kept = []
    for term in terms:
        term = sympy.powsimp(sympy.expand(term))
        if not term.is_number and term not in kept:
            kept.append(term)
    return kept


def distance_factor(term: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """(the factors of `term` free of r, the factors with r): u_x q1 q2 / r^2 → (dx q1 q2, 1/(r^2 |Δ|))."""
    with_r, without_r = [], []
    for factor in sympy.Mul.make_args(term):
        (with_r if r in factor.free_symbols else without_r).append(factor)
    return sympy.Mul(*without_r), sympy.Mul(*with_r)


def recombined_terms(snapped: list[sympy.Expr]) -> list[sympy.Expr]:
    """Every distance factor of the snapped terms times every factor free of r among them.

    An EQL can learn a law's distance dependence right in one term and spread it over several
    inexact powers in another (m1 m2 / r^2 exact beside q1 q2 as r^-0.7, r^-1.1 and r^-1.5), so
    the exact law is a product of pieces the network holds, not one of its terms.
    """
    parts = [distance_factor(t) for t in snapped]
    free = _unique(p for p, _ in parts) + ([sympy.Integer(1)] if any(p.is_number for p, _ in parts) else [])
    radial = list(dict.fromkeys(d for _, d in parts))
    return _unique(p * d for p in free for d in radial)


def candidate_term_sets(expr: sympy.Expr) -> list[list[sympy.Expr]]:
    """Sets of coefficient-free terms to refit: the read-out's own terms with their snapped twins,
    each snapping alone (the exact law's exponents are rarely the trained ones to three
    digits, and near-copies of a term hide the exact one from a greedy elimination), and the
    snapped terms' pieces recombined (`recombined_terms`)."""
    monomials = _monomials(expr)
    snapped = [_unique(snap_exponents(m, step, tolerance) for m in monomials) for step, tolerance in SNAPS]
    every_snapped = [t for group in snapped for t in group]
    everything = _unique(monomials + every_snapped)
    recombined = recombined_terms(_unique(every_snapped))
    sets = []
    for terms in (everything, *snapped, recombined):
        if terms and terms not in sets:
            sets.append(terms)
    return sets


def candidate_terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """Every candidate term of `expr` (the union of `candidate_term_sets`)."""
    return _unique(t for terms in candidate_term_sets(expr) for t in terms)


class NetTerms:
    """Evaluates Σ_j term(i, j), a pair expression summed over each receiver's edges, on many graphs
    (on windows of states: its weighted mean over each window, the weak form's column)."""

    def __init__(self, samples: GraphSet, edges: EdgeList | NeighbourGraph, softening: float):
        self.samples, self.edges, self.softening = samples, edges, softening
        edges, context = samples.states.float64_pairs(edges, softening)
        self.values = {k: v.numpy() for k, v in context.message_variables().items()}
        self.mask = None if edges.mask is None else edges.mask.numpy()
        self.incidence = np.zeros((edges.n_nodes, len(edges.receivers)))
        self.incidence[edges.receivers.cpu().numpy(), np.arange(len(edges.receivers))] = 1.0

    def every(self, step: int) -> "NetTerms":
        """The same sums on every `step`-th graph (or window) only."""
        if self.samples.points == 1:
            view = object.__new__(NetTerms)  # graphs: a slice of the values already computed
            view.samples, view.edges, view.softening = self.samples.subset(slice(None, None, step)), self.edges, self.softening
            view.values = {k: v[::step] for k, v in self.values.items()}
            view.mask = None if self.mask is None else self.mask[::step]
            view.incidence = self.incidence
            return view
        return NetTerms(self.samples.subset(slice(None, None, step)), self.edges, self.softening)

    def __call__(self, term: sympy.Expr) -> np.ndarray:
        """[G, n]: the term summed over the edges into every node of every graph."""
        return self.sum_over_edges(evaluate(term, self.values))

    def sum_over_edges(self, values: np.ndarray) -> np.ndarray:
        """[G, n]: per-edge values [G, E] summed into every node of every graph (on windows, the
        sums' weighted mean over each window)."""
        return self.samples.average(self._node_sums(values))

    def with_resolution(self, term: sympy.Expr) -> tuple[np.ndarray, np.ndarray]:
        """([G, n] the term as `__call__` gives it, [G, n] how far its window means move when every
        other state is left out: 0 on single graphs), from one evaluation: the second is about the
        weak identity's error where the sampling does not resolve the motion
        (`WindowSet.resolution_error`)."""
        sums = self._node_sums(evaluate(term, self.values))
        return self.samples.average(sums), self.samples.resolution_error(sums)

    def _node_sums(self, values: np.ndarray) -> np.ndarray:
        return (values if self.mask is None else np.where(self.mask, values, 0.0)) @ self.incidence.T


def _fvu_budget(full: float, noise: float = 0.0, rows: int = 1) -> float:
    """The held-out fvu a shorter law may reach, given the best one's (`full`): FVU_FACTOR times
    its part that a law could explain, or FVU_SLACK more. `noise` is the share of the held-out
    variance the targets' own noise makes (estimated; 0 where not known), which no law explains:
    doubling it would let noisy targets shed real terms. Its sampling spread over `rows` rows is
    allowed for (NOISE_SPREAD standard errors)."""
    explainable = max(full - noise, 0.0)
    return full + max((FVU_FACTOR - 1) * explainable, FVU_SLACK + NOISE_SPREAD * noise / math.sqrt(max(rows, 1)))


def _fvu(columns: np.ndarray, coefficients: np.ndarray, target: np.ndarray) -> float:
    residual = target - columns @ coefficients
    value = float(np.sum(residual**2) / max(np.sum(target**2), 1e-300))
    return value if np.isfinite(value) else float("inf")


def significant(values: np.ndarray, digits: int) -> np.ndarray:
    """`values` rounded to `digits` significant digits, as the law will print them. Candidates are
    judged in this form: two near-copies of a term (e^(11.2 r) and its snapped twin e^(11 r)) can
    fit well with large opposite coefficients whose difference the rounding destroys."""
    return np.array([float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=float)])


def _pareto(candidates: list[dict]) -> list[dict]:
    """The candidates no other beats in both size and held-out error (sorted by size)."""
    front, best = [], float("inf")
    for candidate in sorted(candidates, key=lambda c: (c["terms"], c["held_out_fvu"])):
        if candidate["held_out_fvu"] < best:
            front.append(candidate)
            best = candidate["held_out_fvu"]
    return front


def _readable(terms: list[sympy.Expr], coefficients) -> str | None:
    """A candidate law as text, with 4-digit coefficients; None where it has too many terms to read."""
    if len(terms) > READABLE_CANDIDATE_TERMS:
        return None
    return sympy.sstr(sympy.Add(*[sympy.Float(c, 4) * t for t, c in zip(terms, coefficients)]))


def _row_weights(terms: NetTerms, samples: GraphSet, predicted: dict[int, sympy.Expr]) -> np.ndarray:
    """`relative_weights` of the rows of `samples`, from the force the read-out `predicted` (keyed by
    axis) and its resolution error, each term evaluated once."""
    forces, resolutions = zip(*(terms.with_resolution(predicted[k]) for k in sorted(predicted)))
    return relative_weights(np.stack(forces, axis=-1), target_noise(samples), np.stack(resolutions, axis=-1))


#: At most this many of the shortest candidates are printed and checked before the best of them is taken.
PRINTED_CHECKS = 8


def _cancelling(largest_share: float) -> int:
    """The decade of a law's largest term relative to the force it explains: of equally short laws
    within the budget, the one without a cancelling pair (198 dy r/(r - 0.01) - 200 dy for
    2 dy (1 - r)/(r - 0.01), equal in value on collinear terms, each term 100 times the force) comes
    first. Measured on the data, not on the coefficients: a steep repulsion e^(-12.5 r) has a
    coefficient of 3e5 in the run's units and is no larger than the force where the data are."""
    return max(0, int(np.floor(np.log10(largest_share)))) if largest_share > 0 else 0


def _largest_share(columns: np.ndarray, coefficients: np.ndarray, target: np.ndarray) -> float:
    """The root-mean-square size of a law's largest term, over the target's."""
    sizes = np.abs(coefficients) * np.sqrt(np.mean(columns**2, axis=0))
    return float(np.max(sizes, initial=0.0) / max(np.sqrt(np.mean(target**2)), 1e-300))


def _preference(scored: tuple, noisy: bool) -> tuple:
    """The order in which laws within the budget are tried: fewer terms, no cancelling pair, then the
    lower held-out error. On noisy targets the simpler terms come before the lower error: there a
    difference within the budget is the noise's, and a term fitted to it (r^-2 e^(-0.16 r) for
    r^-2 on weak targets at 100 % noise, measured) has no claim over the simpler one."""
    terms, _, _, held_out, largest_share = scored
    simplicity = (formula_size(terms),) if noisy else ()
    return (len(terms), _cancelling(largest_share), *simplicity, held_out)


def _shortest_as_printed(ranked: list, budget: float, digits: int, printed_fvu) -> tuple[sympy.Expr, float]:
    """The first of `ranked` (shortest first) whose law *as printed* stays within `budget`, with
    its held-out fvu; else the best printed one of the first PRINTED_CHECKS. Printing rounds every
    number, exponents included: r^1.0013 printed as r^1.001 beside a term r with coefficients
    ±1500 no longer cancels, so a law is judged as the reader will evaluate it."""
    tried = []
    for kept, coefficients, *_ in ranked[:PRINTED_CHECKS]:
        expression = clean_expression(sympy.Add(*[sympy.Float(c) * t for t, c in zip(kept, coefficients)]),
                                      digits=digits, drop_below=0.0)
        fvu = printed_fvu(expression)
        if fvu <= budget:
            return expression, fvu
        tried.append((fvu, expression))
    fvu, expression = min(tried, key=lambda t: t[0])
    return expression, fvu


def polished_term_sets(scored: list, train: NetTerms, target: np.ndarray, weight: np.ndarray) -> list[list]:
    """For every size from 2 to POLISH_TERMS, the terms of the best law of that size on the training
    graphs with their exponents of r fitted to the data (`polish_exponents`), where that gives terms
    the candidates do not already hold."""
    best = {}
    for terms, _, train_fvu, *_ in scored:
        if 2 <= len(terms) <= POLISH_TERMS and train_fvu < best.get(len(terms), (None, np.inf))[1]:
            best[len(terms)] = (terms, train_fvu)
    known = {frozenset(terms) for terms, *_ in scored}
    polished = []
    graphs = len(target) // train.incidence.shape[0]
    step = max(1, graphs // POLISH_GRAPHS)
    rows = (np.arange(graphs)[::step, None] * train.incidence.shape[0] + np.arange(train.incidence.shape[0])).reshape(-1)
    for terms, _ in best.values():
        fitted = list(dict.fromkeys(polish_exponents(terms, train.every(step), target[rows], weight[rows]) or []))
        if fitted and frozenset(fitted) not in known:
            known.add(frozenset(fitted))
            polished.append(fitted)
    return polished


def refit_messages(formulas: dict[int, sympy.Expr], graphs: GraphSet, held_out: GraphSet,
                   edges: EdgeList | NeighbourGraph,
                   softening: float, digits: int = 4, predicted: dict[int, sympy.Expr] | None = None,
                   ) -> list[RefittedMessage]:
    """Refit each message formula (keyed by its axis) against the net force m_i a_i; the results
    come in the order of `formulas`.

    The terms are eliminated one at a time on `graphs` (backward elimination); of the laws along
    that path, the shortest whose error on `held_out` is within `_fvu_budget` of the best held-out
    error is kept; held-out errors are those of the coefficients rounded to `digits` significant
    digits, the law as printed. Valid behind a Newtonian node model, where message component k is
    the force along axis k. Rows are weighed by the force the read-out predicts (`predicted`, by
    default the formulas themselves).
    """
    train, valid = NetTerms(graphs, edges, softening), NetTerms(held_out, edges, softening)
    force = lambda g: (g.accelerations.double() * g.masses.double().unsqueeze(-1)).numpy()
    train_force, valid_force = force(graphs), force(held_out)
    predicted = formulas if predicted is None else predicted
    train_weight, valid_weight = (_row_weights(terms, samples, predicted) for terms, samples in ((train, graphs), (valid, held_out)))
    refitted = []
    for axis, formula in formulas.items():
        target = train_force[..., axis].reshape(-1) * train_weight
        valid_target = valid_force[..., axis].reshape(-1) * valid_weight
        scored = []

        def score(terms: list[sympy.Expr]) -> None:
            """The elimination path of these terms on the training graphs, each law on it with its
            held-out error as printed, added to `scored`."""
            columns = np.column_stack([train(t).reshape(-1) for t in terms]) * train_weight[:, None]
            valid_columns = np.column_stack([valid(t).reshape(-1) for t in terms]) * valid_weight[:, None]
            usable = np.flatnonzero(np.all(np.isfinite(columns), axis=0) & np.all(np.isfinite(valid_columns), axis=0))
            usable = usable[distinct_columns(columns[:, usable], [formula_size([terms[j]]) for j in usable])]
            terms = [terms[j] for j in usable]
            columns, valid_columns = columns[:, usable], valid_columns[:, usable]
            if not terms:
                return
            path = linear_elimination_path(columns, target)
            scored.extend(([terms[k] for k in kept], coefficients, error,
                           _fvu(valid_columns[:, kept], significant(coefficients, digits), valid_target),
                           _largest_share(columns[:, kept], coefficients, target))
                          for kept, coefficients, error in path)

        for terms in candidate_term_sets(formula):
            score(terms)
        for terms in polished_term_sets(scored, train, target, train_weight):
            score(terms)
        if not scored:
            refitted.append(RefittedMessage(axis, sympy.Integer(0), 1.0))
            continue
        noise = noise_fvu(held_out, valid_weight, valid_target)
        budget = _fvu_budget(min(s[3] for s in scored), noise, len(valid_target))
        printed_fvu = lambda expression: _fvu(valid(expression).reshape(-1, 1) * valid_weight[:, None], np.ones(1),
                                              valid_target)
        expression, held_out_fvu = _shortest_as_printed(sorted((s for s in scored if s[3] <= budget),
                                                               key=lambda s: _preference(s, noise > 0)),
                                                        budget, digits, printed_fvu)
        front = _pareto([{"terms": len(k), "train_fvu": e, "held_out_fvu": v, "fit": (k, cs)}
                         for k, cs, e, v, _ in sorted(scored, key=lambda s: (len(s[0]), s[3]))])
        candidates = [{"terms": c["terms"], "train_fvu": c["train_fvu"], "held_out_fvu": c["held_out_fvu"],
                       "expression": _readable(*c["fit"])} for c in front]  # printed: the front only
        refitted.append(RefittedMessage(axis, expression, held_out_fvu, candidates))
    return refitted


def shorter_of_equals(first: RefittedMessage, second: RefittedMessage) -> RefittedMessage:
    """Of two refits of one message, the shorter law where both are within the budget of the better
    held-out error (`_fvu_budget`), else the better."""
    best, other = sorted((first, second), key=lambda m: m.fvu)
    if other.fvu <= _fvu_budget(best.fvu) and formula_size([other.expression]) < formula_size([best.expression]):
        return other
    return best
