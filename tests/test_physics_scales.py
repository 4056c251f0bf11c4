"""Data-chosen units: left alone near order one, and a law learned in them written back exactly."""
from __future__ import annotations

import numpy as np
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
