"""Refit the terms of a read-out law against the data: exact coefficients, spurious terms gone.

Behind a Newtonian node model the summed messages are the net force, m_i a_i, which is linear in
the coefficients of the messages' additive terms. So the terms read from the trained EQL (and the
same terms with their exponents snapped to simple values) can be refitted by least squares on the
training targets, and the terms the fit can spare are eliminated one by one. This is the EQL's
own "prune, then refit the last layer", done exactly: every candidate term comes from the network,
none from a separate search.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from eqlearn.canonical import split_coefficient
from eqlearn.eql.selection import backward_elimination
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.training import GraphSet
from eqlearn.symbolic import clean_expression

#: A term may go if the fraction of variance left unexplained stays below max(2 x, + 1e-4) of the full fit's.
FVU_FACTOR = 2.0
FVU_SLACK = 1e-4
#: Exponents within this distance of a multiple of 1/2 get a snapped twin among the candidate terms.
EXPONENT_SNAP = 0.15
_VARIABLES = sympy.symbols("dx dy dz r m1 m2 q1 q2")


@dataclass
class RefittedMessage:
    """One message after the refit; `fvu` is its unexplained fraction of the net-force variance."""

    axis: int
    expression: sympy.Expr
    fvu: float

    @property
    def r2(self) -> float:
        return 1.0 - self.fvu


def snap_exponents(term: sympy.Expr, tolerance: float = EXPONENT_SNAP) -> sympy.Expr:
    """`term` with each numeric power p replaced by the nearest multiple of 1/2 within `tolerance`."""
    replacements = {}
    for power in term.atoms(sympy.Pow):
        exponent = power.exp
        if exponent.is_Float:
            nearest = sympy.Rational(round(float(exponent) * 2), 2)
            if abs(float(exponent) - nearest) <= tolerance:
                replacements[power] = power.base**nearest
    return term.xreplace(replacements)


def candidate_terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """The coefficient-free additive terms of `expr`, each also with its exponents snapped."""
    terms = []
    for term in sympy.Add.make_args(sympy.expand(expr)):
        _, monomial = split_coefficient(term)
        if monomial.is_number:
            continue
        for candidate in (monomial, snap_exponents(monomial)):
            candidate = sympy.powsimp(sympy.expand(candidate))
            if not candidate.is_number and candidate not in terms:
                terms.append(candidate)
    return terms


class NetTerms:
    """Evaluates Σ_j term(i, j), a pair expression summed over each receiver's edges, on many graphs."""

    def __init__(self, graphs: GraphSet, edges: EdgeList):
        context = edges.pair_context(graphs.positions.double(), graphs.masses.double(), graphs.charges.double())
        values = {k: v.numpy() for k, v in context.message_variables().items()}
        self.values = [values.get(str(s), np.zeros_like(values["r"])) for s in _VARIABLES]  # absent axes are 0
        self.incidence = np.zeros((edges.n_nodes, len(edges.receivers)))
        self.incidence[edges.receivers.numpy(), np.arange(len(edges.receivers))] = 1.0

    def __call__(self, term: sympy.Expr) -> np.ndarray:
        """[G, n]: the term summed over the edges into every node of every graph."""
        with np.errstate(all="ignore"):
            per_edge = np.asarray(sympy.lambdify(_VARIABLES, term, "numpy")(*self.values), dtype=float)
        return np.broadcast_to(per_edge, self.values[0].shape) @ self.incidence.T


def law_accelerations(law: list[sympy.Expr], graphs: GraphSet, edges: EdgeList) -> np.ndarray:
    """Accelerations [G, n, d] that a law predicts on its own: a_i = Σ_j law(i, j) / m_i, with
    law[k] the force along axis k. This is how a recovered law extrapolates, network aside."""
    net = NetTerms(graphs, edges)
    forces = np.stack([net(expr) for expr in law], axis=-1)
    return forces / graphs.masses.double().numpy()[..., None]


def _least_squares(columns: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients and the fraction of variance unexplained (target ≈ columns @ c, no offset)."""
    scale = np.linalg.norm(columns, axis=0)
    scale[scale == 0] = 1.0
    solution, *_ = np.linalg.lstsq(columns / scale, target, rcond=None)
    coefficients = solution / scale
    residual = target - columns @ coefficients
    return coefficients, float(np.sum(residual**2) / max(np.sum(target**2), 1e-300))


def _fvu_budget(full: float) -> float:
    return max(FVU_FACTOR * full, full + FVU_SLACK)


def refit_messages(formulas: dict[int, sympy.Expr], graphs: GraphSet, edges: EdgeList,
                   digits: int = 4) -> list[RefittedMessage]:
    """Refit each message formula (keyed by its axis) against the net force m_i a_i on `graphs`;
    the results come in the order of `formulas`.

    Valid behind a Newtonian node model, where message component k is the force along axis k.
    Coefficients keep `digits` significant digits.
    """
    net = NetTerms(graphs, edges)
    net_force = (graphs.accelerations.double() * graphs.masses.double().unsqueeze(-1)).numpy()
    refitted = []
    for axis, formula in formulas.items():
        terms = candidate_terms(formula)
        target = net_force[..., axis].reshape(-1)
        if not terms:
            refitted.append(RefittedMessage(axis, sympy.Integer(0), 1.0))
            continue
        columns = np.column_stack([net(t).reshape(-1) for t in terms])
        usable = np.all(np.isfinite(columns), axis=0)
        terms, columns = [t for t, ok in zip(terms, usable) if ok], columns[:, usable]
        kept, coefficients, fvu = backward_elimination(lambda keep: _least_squares(columns[:, keep], target),
                                                       list(range(len(terms))), _fvu_budget)
        expression = clean_expression(sympy.Add(*[sympy.Float(c) * terms[k] for k, c in zip(kept, coefficients)]),
                                      digits=digits, drop_below=0.0)
        refitted.append(RefittedMessage(axis, expression, fvu))
    return refitted
