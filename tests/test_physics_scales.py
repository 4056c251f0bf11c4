"""Data-chosen units: left alone near order one, and a law learned in them written back exactly."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from eqlearn.physics import get_potential, simulate
from eqlearn.physics.scales import DataUnits, choose_units


def test_simulated_data_keep_their_units_and_far_data_get_their_own():
    data = simulate(get_potential("r2"), 4, 2, 50, 4, seed=0, progress=False)
    assert choose_units(data) == DataUnits()
    units = choose_units(DataUnits(0.01, 1.0).apply(data))  # lengths and accelerations 100x larger
    assert units.changed and 10 < units.length < 1000


def test_a_law_in_run_units_is_the_same_force_in_the_data_units():
    units = DataUnits(length=7.0, time=3.0)
    dx, r, m1, m2 = sympy.symbols("dx r m1 m2")
    learned = -2.5 * m1 * m2 * dx / r**3  # F'(Δ', r') in the run's units
    in_data = units.to_data_units(learned)
    values = {dx: 4.2, r: 5.0, m1: 1.3, m2: 0.7}
    expected = units.acceleration * learned.subs({dx: 4.2 / 7.0, r: 5.0 / 7.0, m1: 1.3, m2: 0.7})
    assert np.isclose(float(in_data.subs(values)), float(expected), rtol=1e-12)
    assert sympy.simplify(in_data / (m1 * m2 * dx / r**3)).is_number  # the form is unchanged


def test_a_neighbour_graph_measures_lengths_on_the_pairs_it_connects():
    from eqlearn.physics.potentials import get_potential
    from eqlearn.physics.simulator import simulate

    wide = simulate(get_potential("spring"), 64, 2, sims=4, steps=1, spread=12.0, cutoff=3.0)
    assert choose_units(wide).changed  # pairs across the whole system are far from order one
    assert choose_units(wide, within=3.0) == DataUnits() and choose_units(wide, nearest=4) == DataUnits()


def argon_clusters(sims: int = 40):
    """Argon-like clusters in nm, ps, amu: the particles keep a contact distance of about 0.34 nm."""
    from eqlearn.physics.clusters import BOLTZMANN_KJ_PER_MOL_K, cluster_state

    state = cluster_state(8, 3, sims, 0.37, BOLTZMANN_KJ_PER_MOL_K * 40, mass=39.948, seed=0)
    return simulate(get_potential(expression="4*0.996*((0.34/r)**12 - (0.34/r)**6)"), 8, 3, sims, 3, dt=0.1,
                    initial_state=state, softening=0.0)


def test_particles_that_keep_a_distance_get_units_of_their_contact_distance():
    data = argon_clusters()
    units = choose_units(data)
    assert 0.3 < units.length < 0.37 and units.mass == np.float32(39.948)
    forces = np.linalg.norm(units.apply(data).accelerations, axis=-1) * units.apply(data).masses[:, None]
    assert abs(np.median(forces) - 1) < 0.05  # the median force is the unit
    assert choose_units(DataUnits(10.0, 0.1, 1e-3).apply(data)).length == pytest.approx(units.length / 10)  # any units
    assert choose_units(data, mass_unit=False).mass == 1.0  # learned masses keep their own unit


def test_a_law_with_masses_in_run_units_is_the_same_force_in_the_data_units():
    units = DataUnits(length=0.34, time=0.97, mass=39.948)
    dx, r, m1, m2 = sympy.symbols("dx r m1 m2")
    learned = 8.1 * dx / r**14 - 4.3 * m1 * m2 * dx / r**8
    in_data = units.to_data_units(learned)
    values = {dx: 0.3, r: 0.38, m1: 39.948, m2: 2 * 39.948}
    in_run = {dx: 0.3 / 0.34, r: 0.38 / 0.34, m1: 1.0, m2: 2.0}
    expected = units.force * float(learned.subs(in_run))
    assert np.isclose(float(in_data.subs(values)), expected, rtol=1e-12)
