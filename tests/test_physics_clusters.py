"""Compact clusters as initial states, and molecular data without softening."""
from __future__ import annotations

import numpy as np
import pytest

from eqlearn.errors import UserInputError
from eqlearn.physics import get_potential, simulate, total_energy
from eqlearn.physics.clusters import BOLTZMANN_KJ_PER_MOL_K, cluster_state, lattice_sites, periodic_lattice_state

LENNARD_JONES = "4*0.996*((0.34/r)**12 - (0.34/r)**6)"  # argon, kJ/mol and nm


def nearest_neighbour(positions: np.ndarray) -> np.ndarray:
    distances = np.linalg.norm(positions[..., :, None, :] - positions[..., None, :, :], axis=-1)
    return np.where(np.eye(positions.shape[-2], dtype=bool), np.inf, distances).min(-1)


def test_eight_sites_make_a_cube_and_clusters_keep_their_spacing():
    assert sorted(map(tuple, lattice_sites(8, 3))) == [(i, j, k) for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    x, v, m, q = cluster_state(8, 3, 200, spacing=0.37, kT=BOLTZMANN_KJ_PER_MOL_K * 40, mass=39.948, seed=1)
    assert x.shape == v.shape == (200, 8, 3) and m.shape == q.shape == (200, 8)
    assert np.all(m == 39.948) and np.all(q == 0)
    np.testing.assert_allclose(x.mean(1), 0, atol=1e-12)  # centred
    np.testing.assert_allclose(v.mean(1), 0, atol=1e-12)  # no net momentum
    assert 0.25 < nearest_neighbour(x).min() and abs(np.median(nearest_neighbour(x)) - 0.37) < 0.02
    expected = np.sqrt(BOLTZMANN_KJ_PER_MOL_K * 40 / 39.948) * np.sqrt(7 / 8)  # less the mean of 8
    assert abs(v.std() / expected - 1) < 0.05


def test_a_rock_salt_cluster_alternates_its_charges():
    x, _, _, q = cluster_state(8, 3, 5, spacing=0.28, kT=1.0, mass=30.0, alternating_charges=True)
    assert np.all(q.sum(1) == 0)
    distances = np.linalg.norm(x[0][:, None] - x[0][None], axis=-1) + 10 * np.eye(8)
    nearest = distances.argmin(1)
    assert np.all(q[0] * q[0][nearest] == -1)


def test_a_periodic_lattice_tiles_its_box_with_every_neighbour_through_the_faces_at_the_spacing():
    (x, v, m, q), box = periodic_lattice_state(27, 3, 4, spacing=0.37, kT=0.3, mass=39.948, seed=2, jitter=0.0,
                                               alternating_charges=False)
    assert box == pytest.approx(3 * 0.37) and x.shape == (4, 27, 3) and np.all((0 <= x) & (x < box))
    delta = x[..., :, None, :] - x[..., None, :, :]
    delta -= box * np.round(delta / box)  # nearest images
    distances = np.linalg.norm(delta, axis=-1) + 10 * np.eye(27)
    np.testing.assert_allclose(distances.min(-1), 0.37, rtol=1e-9)  # also for sites on the faces
    assert np.all((distances < 0.38).sum(-1) == 6)  # simple cubic: six nearest neighbours, through the box too
    np.testing.assert_allclose(v.mean(1), 0, atol=1e-12)
    with pytest.raises(UserInputError, match="k\\^3"):
        periodic_lattice_state(10, 3, 1, spacing=0.37, kT=0.3)


def test_an_argon_cluster_without_softening_conserves_energy():
    potential = get_potential(expression=LENNARD_JONES)
    state = cluster_state(8, 3, 20, spacing=0.37, kT=BOLTZMANN_KJ_PER_MOL_K * 40, mass=39.948, seed=0)
    data = simulate(potential, 8, 3, 20, 5, dt=0.1, initial_state=state, softening=0.0)
    assert data.softening == 0.0 and data.meta["initial_state"] == "given"
    np.testing.assert_allclose(data.positions[:, 0], state[0], atol=1e-6)
    energy = total_energy(data.positions.astype(float), data.velocities.astype(float), data.masses[:, None],
                          data.charges[:, None], potential, softening=0.0)
    assert np.abs(energy - energy[:, :1]).max() < 1e-3  # kJ/mol, of a binding energy of about 7
    force = data.accelerations * data.masses[:, None, :, None]
    np.testing.assert_allclose(force.sum(-2), 0, atol=1e-3)  # Newton's third law


def test_a_bad_initial_state_is_refused():
    potential = get_potential(expression=LENNARD_JONES)
    x, v, m, q = cluster_state(4, 3, 3, spacing=0.37, kT=0.1)
    with pytest.raises(UserInputError, match="positions"):
        simulate(potential, 4, 3, 3, 2, dt=0.1, initial_state=(x[:, :3], v, m, q))
    with pytest.raises(UserInputError, match="positive"):
        simulate(potential, 4, 3, 3, 2, dt=0.1, initial_state=(x, v, -m, q))
