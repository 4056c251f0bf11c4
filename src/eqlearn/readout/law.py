"""A read-out law as a model of its own: forces, accelerations and trajectories from formulas alone.

This is what a user without ground truth relies on (docs/design.md, "the truth-free verdict"): if
the formulas explain held-out data as well as the trained network, nothing the network knew is
missing from them. Message k of a law is the force on the receiver along axis k.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy
import torch

from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import NeighbourGraph
from eqlearn.readout.variables import compile_expression
from eqlearn.vocabulary.formula import as_expression


class PairLaw:
    """Pair-force formulas compiled once, summed over a graph's edges: a_i = Σ_j F_ij / m_i."""

    def __init__(self, law: Sequence[sympy.Expr], edges: EdgeList | NeighbourGraph, softening: float):
        self.functions = [compile_expression(e) for e in law]
        self.edges, self.softening = edges, softening

    def pair_forces(self, positions, masses, charges, velocities=None, box=None) -> np.ndarray:
        """F_ij [..., E, d] for node arrays [..., n, d] and [..., n] (numpy or torch; float64 out),
        in periodic boxes [..., d] if given."""
        return self._pair_forces(*self._edges_and_arrays(positions, masses, charges, velocities, box))

    def _edges_and_arrays(self, *arrays):
        as_tensor = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float64)
        arrays = [as_tensor(a) for a in arrays]
        return self.edges.for_positions(arrays[0], arrays[-1]), *arrays

    def _pair_forces(self, edges: EdgeList, positions, masses, charges, velocities, box) -> np.ndarray:
        context = edges.pair_context(positions, masses, charges, velocities, softening=self.softening, box=box)
        values = {name: value.numpy() for name, value in context.message_variables().items()}
        return np.stack([force(values) for force in self.functions], axis=-1)

    def net_forces(self, positions, masses, charges, velocities=None, box=None) -> np.ndarray:
        """Σ_j F_ij [..., n, d]."""
        edges, *arrays = self._edges_and_arrays(positions, masses, charges, velocities, box)
        return edges.aggregate(torch.as_tensor(self._pair_forces(edges, *arrays))).numpy()

    def accelerations(self, positions, masses, charges, velocities=None, box=None) -> np.ndarray:
        return self.net_forces(positions, masses, charges, velocities, box) / np.asarray(masses, dtype=float)[..., None]

    def rollout(self, positions0, velocities0, masses, charges, times, box=None) -> np.ndarray:
        """Positions [S, T, n, d] from integrating the law from the states at times[0] (RK45); in
        periodic boxes [S, d] the pairs meet through their nearest images and the positions are
        not wrapped (compare them through `eqlearn.vocabulary.periodic.minimum_image`)."""
        from scipy.integrate import solve_ivp  # imported where used: most runs hold no trajectories to integrate

        shape = positions0.shape

        def derivative(_, y):
            x, v = y.reshape(2, *shape)
            return np.concatenate([v.ravel(), self.accelerations(x, masses, charges, v, box).ravel()])

        y0 = np.concatenate([positions0.ravel(), velocities0.ravel()])
        solution = solve_ivp(derivative, (times[0], times[-1]), y0, t_eval=times, rtol=1e-7, atol=1e-9)
        if not solution.success or solution.y.shape[1] != len(times):
            return np.full((shape[0], len(times), *shape[1:]), np.nan)
        return np.moveaxis(solution.y[: positions0.size].reshape(*shape, len(times)), -1, 1)


def squared_relative_errors(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """|F_pred - F|² / (|F|² + f²) per particle [..., n], f the median |F|: the terms
    `relative_force_error` averages, kept apart where graphs are resampled."""
    return relative_squares(((predicted - target) ** 2).sum(-1), target)


def relative_squares(squares: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared errors [..., n] of the net forces `target` [..., n, d] over |F|² + f², f the median |F|."""
    size = np.linalg.norm(target, axis=-1)
    error = squares / (size**2 + np.median(size) ** 2 + 1e-300)
    return np.where(np.isnan(error), np.inf, error)


def relative_force_error(predicted: np.ndarray, target: np.ndarray) -> float:
    """sqrt(mean |F_pred - F|² / (|F|² + f²)) over particles, f the median |F|: every particle counts
    alike, as in training, and particles whose forces nearly cancel cannot dominate."""
    return root_mean(squared_relative_errors(predicted, target))


def root_mean(squared_errors: np.ndarray) -> float:
    """sqrt(mean) of `squared_relative_errors`: the relative force error they add up to."""
    value = float(np.sqrt(np.mean(squared_errors)))
    return value if np.isfinite(value) else float("inf")


def formula_size(expressions: Sequence[sympy.Expr]) -> int:
    """Nodes in the expression trees: the size a Pareto front trades against error."""
    return sum(len(list(sympy.preorder_traversal(as_expression(e)))) for e in expressions)
