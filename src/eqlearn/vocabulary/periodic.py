"""Periodic boxes: the pair displacement Δ = x_i - x_j under the minimum-image convention.

Molecular dynamics keeps its particles in a periodic box: a particle leaving through one face comes
back through the opposite one, and each pair interacts through its nearest image. This module is
the one place a pair displacement is formed (the simulator's forces, the GNN's features and
neighbour graphs, the law evaluated on data), so open and periodic systems share every other line.
A box is orthorhombic, given by its edge lengths L [..., d] (broadcast against the positions'
batch axes); None means open space. Works on numpy arrays and torch tensors alike.
"""
from __future__ import annotations

import numpy as np

from eqlearn.errors import UserInputError


def displacement(receiver, sender, box=None):
    """Δ = receiver - sender [..., d], each component brought to its nearest image, |Δ_k| <= L_k / 2
    (`box` [..., d] broadcast against Δ; None: open space, Δ unchanged)."""
    return minimum_image(receiver - sender, box)


def minimum_image(delta, box=None):
    """The displacements `delta` [..., d] to the nearest periodic image of the far particle."""
    if box is None:
        return delta
    return delta - box * (delta / box).round()


def wrap(positions, box=None):
    """Positions [..., d] moved by whole box lengths into [0, L_k) along every axis (to rounding)."""
    if box is None:
        return positions
    return positions - box * (positions // box)


def unwrap(positions, box=None):
    """Positions [S, T, ..., d] wrapped into a box, made continuous along time (axis 1): every step
    taken to the nearest image of the last, so a particle crossing a face does not jump by L. Needs
    steps shorter than L / 2; `box` broadcasts against the positions (numpy)."""
    if box is None:
        return positions
    box = np.broadcast_to(box, positions.shape)
    steps = minimum_image(np.diff(positions, axis=1), box[:, 1:])
    return np.concatenate([positions[:, :1], positions[:, :1] + np.cumsum(steps, axis=1)], axis=1)


def orthorhombic_lengths(cells: np.ndarray) -> np.ndarray:
    """Edge lengths [..., d] of cell matrices [..., d, d] (rows: the cell vectors), or a
    UserInputError for a cell with off-diagonal terms: a triclinic box, not supported yet."""
    cells = np.asarray(cells, dtype=np.float64)
    lengths = np.diagonal(cells, axis1=-2, axis2=-1)
    off_diagonal = cells - lengths[..., None] * np.eye(cells.shape[-1])
    if np.any(np.abs(off_diagonal) > 1e-9 * np.abs(lengths).max(initial=0.0)):
        raise UserInputError("the periodic box is not orthorhombic (its cell has off-diagonal terms); "
                             "only rectangular boxes are supported so far")
    return lengths
