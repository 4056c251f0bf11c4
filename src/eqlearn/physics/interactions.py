"""Pair interactions summed over whole systems: exact accelerations and total energy.

Each unordered pair's force is computed once and applied with opposite signs to its two particles,
so Newton's third law (and with it total momentum) holds by construction, to rounding.
Works on numpy arrays and torch tensors with any batch shape.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from eqlearn.physics.potentials import PairPotential, array_namespace, squared_norm
from eqlearn.vocabulary.periodic import displacement
from eqlearn.vocabulary.symbols import SOFTENING


@lru_cache(maxsize=None)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unordered pairs (first < second), and for every particle the slots of its n - 1 forces.

    With the forces F of all pairs followed by -F, entry `receivers[i, k]` indexes the force that
    particle i feels from its k-th partner.
    """
    first, second = np.triu_indices(n, k=1)
    slot = {}
    for p, (i, j) in enumerate(zip(first, second)):
        slot[i, j] = p  # on i from j: +F_p
        slot[j, i] = p + len(first)  # on j from i: -F_p
    receivers = np.array([[slot[i, j] for j in range(n) if j != i] for i in range(n)])
    return first, second, receivers.reshape(-1)


def _torch_aware(array, indices: np.ndarray):
    return torch.as_tensor(indices) if isinstance(array, torch.Tensor) else indices


def particle_major_accelerations(x, v, m, q, potential: PairPotential, cutoff: float | None = None,
                                 softening: float = SOFTENING, box=None):
    """Accelerations with the particle axis first: x, v [n, ..., d], m, q [n, ...].

    This layout makes every gather a block copy and every sum over partners an element-wise add,
    which is what makes the simulator fast; `pair_accelerations` is the usual-layout entry point.
    With a `cutoff`, pairs with |Δ| >= cutoff exert no force (a truncated potential: short-range
    systems whose neighbour graph is all there is). The law reads r = |Δ| + `softening`. With a
    periodic `box` (edge lengths broadcast against x[0]), pairs interact through their nearest images.
    """
    n = x.shape[0]
    first, second, receivers = (_torch_aware(x, a) for a in _pairs(n))
    delta = displacement(x[first], x[second], box)
    dv = v[first] - v[second] if potential.damping else None
    force = potential.pair_force(delta, m[first], m[second], q[first], q[second], dv, softening)
    if cutoff is not None:
        force = force * (squared_norm(delta) < cutoff**2)[..., None]
    both_ways = array_namespace(force).concatenate([force, -force])
    per_receiver = both_ways[receivers].reshape(n, n - 1, *force.shape[1:])
    return per_receiver.sum(1) / m[..., None]


def _particle_major(array, particle_axis: int):
    return array_namespace(array).moveaxis(array, particle_axis, 0)


def pair_accelerations(positions, velocities, masses, charges, potential: PairPotential,
                       softening: float = SOFTENING, box=None):
    """Exact accelerations [..., n, d] of particles at [..., n, d], masses and charges [..., n]; `box`
    [..., d] a periodic box's edge lengths (None: open space)."""
    accelerations = particle_major_accelerations(
        _particle_major(positions, -2), _particle_major(velocities, -2),
        _particle_major(masses, -1), _particle_major(charges, -1), potential, softening=softening, box=box)
    return array_namespace(accelerations).moveaxis(accelerations, 0, -2)


def total_energy(positions, velocities, masses, charges, potential: PairPotential, softening: float = SOFTENING,
                 box=None):
    """Kinetic plus pair potential energy of each system [...]: conserved unless the law damps (or
    a periodic `box` [..., d] cuts a long-range force off at L / 2)."""
    first, second, _ = (_torch_aware(positions, a) for a in _pairs(positions.shape[-2]))
    delta = displacement(positions[..., first, :], positions[..., second, :], None if box is None else box[..., None, :])
    r = squared_norm(delta) ** 0.5 + softening
    pair_energy = potential.energy(r, masses[..., first], masses[..., second],
                                   charges[..., first], charges[..., second])
    kinetic = 0.5 * masses * squared_norm(velocities)
    return kinetic.sum(-1) + pair_energy.sum(-1)
