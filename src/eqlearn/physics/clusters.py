"""Compact molecular clusters as initial states: the starting point of molecular-dynamics data.

The reference's initial state (every coordinate N(0, 1)) suits soft laws; for a steep law such as
Lennard-Jones it puts pairs far inside the repulsive wall, where forces are 10¹⁰ times the typical
one. A cluster instead starts as a lattice of `n` sites at a chosen spacing (liquid-like density
when the spacing is near the law's contact distance), each site jittered, the whole turned by a
random rotation, with Maxwell–Boltzmann velocities at temperature `kT` and no net momentum.
In molecular units (nm, ps, amu, kJ/mol) velocities come out in nm/ps: 1 kJ/mol/amu = 1 nm²/ps².
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from eqlearn.errors import UserInputError

#: Boltzmann's constant in kJ/(mol·K): kT at 100 K is 0.83 kJ/mol.
BOLTZMANN_KJ_PER_MOL_K = 0.0083144626


def lattice_sites(n: int, dim: int) -> np.ndarray:
    """The `n` sites [n, dim] of the integer grid nearest its centre (a 2 × 2 × 2 cube for n = 8 in
    3-D), in grid units: the most compact cluster of a simple cubic lattice."""
    side = max(2, math.ceil(n ** (1 / dim)))
    grid = np.array(list(itertools.product(range(side), repeat=dim)), dtype=float)
    centre = (side - 1) / 2
    order = np.argsort(((grid - centre) ** 2).sum(-1), kind="stable")
    return grid[order[:n]]


def random_rotations(sims: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """`sims` rotation matrices [sims, dim, dim], uniformly distributed (QR of Gaussian matrices)."""
    q, r = np.linalg.qr(rng.standard_normal((sims, dim, dim)))
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]
    flip = np.linalg.det(q) < 0
    q[flip, :, 0] *= -1
    return q


def cluster_state(n: int, dim: int, sims: int, spacing: float, kT: float, mass: float = 1.0, seed: int = 0,
                  jitter: float = 0.05, alternating_charges: bool = False) -> tuple[np.ndarray, ...]:
    """(positions, velocities [sims, n, dim], masses, charges [sims, n]) of compact clusters.

    Sites of `lattice_sites` `spacing` apart, each moved by N(0, (jitter · spacing)²), every
    cluster centred and turned at random; velocities N(0, kT / mass) per component less the
    cluster's mean. Equal masses. Charges are 0, or with `alternating_charges` ±1 by the parity of
    the site (a rock-salt cluster: every nearest neighbour of opposite sign, neutral for even n).
    """
    if n < 2 or dim not in (2, 3) or sims < 1:
        raise UserInputError(f"n = {n}, dim = {dim}, sims = {sims}: need n >= 2, dim 2 or 3, sims >= 1")
    if not (spacing > 0 and kT >= 0 and mass > 0 and jitter >= 0):
        raise UserInputError("spacing and mass must be positive, kT and jitter at least 0")
    rng = np.random.default_rng(seed)
    sites = lattice_sites(n, dim)
    positions = (sites - sites.mean(0)) * spacing + jitter * spacing * rng.standard_normal((sims, n, dim))
    positions = positions - positions.mean(1, keepdims=True)
    positions = np.einsum("sij,snj->sni", random_rotations(sims, dim, rng), positions)
    return (positions, *_velocities_masses_charges(sites, sims, dim, kT, mass, rng, alternating_charges))


def periodic_lattice_state(n: int, dim: int, sims: int, spacing: float, kT: float, mass: float = 1.0,
                           seed: int = 0, jitter: float = 0.05, alternating_charges: bool = False,
                           ) -> tuple[tuple[np.ndarray, ...], float]:
    """(the state as `cluster_state` gives it, the edge L of the cubic periodic box it fills): a
    simple cubic lattice of n = k^dim sites `spacing` apart that tiles the box (L = k · spacing),
    each site jittered, unrotated (a turned lattice would not tile), positions in [0, L)."""
    side = round(n ** (1 / dim))
    if side**dim != n or side < 2:
        raise UserInputError(f"n = {n}: a periodic lattice needs n = k^{dim} particles, k >= 2")
    if not (spacing > 0 and kT >= 0 and mass > 0 and jitter >= 0):
        raise UserInputError("spacing and mass must be positive, kT and jitter at least 0")
    rng = np.random.default_rng(seed)
    sites = np.array(list(itertools.product(range(side), repeat=dim)), dtype=float)
    box = side * spacing
    positions = (sites + 0.5) * spacing + jitter * spacing * rng.standard_normal((sims, n, dim))
    state = (np.mod(positions, box), *_velocities_masses_charges(sites, sims, dim, kT, mass, rng, alternating_charges))
    return state, box


def _velocities_masses_charges(sites, sims, dim, kT, mass, rng, alternating_charges) -> tuple[np.ndarray, ...]:
    """Maxwell–Boltzmann velocities less the system's mean, equal masses, charges 0 or ±1 by site parity."""
    n = len(sites)
    velocities = math.sqrt(kT / mass) * rng.standard_normal((sims, n, dim))
    velocities = velocities - velocities.mean(1, keepdims=True)
    masses = np.full((sims, n), float(mass))
    parity = sites.sum(-1).astype(int) % 2
    charges = np.broadcast_to(np.where(parity == 0, 1.0, -1.0), (sims, n)).copy() if alternating_charges \
        else np.zeros((sims, n))
    return velocities, masses, charges
