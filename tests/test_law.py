"""A law as a model of its own: the true law must reproduce the simulator's forces and orbits."""
import numpy as np
import sympy

from eqlearn.gnn.graph import EdgeList
from eqlearn.physics import get_potential, simulate
from eqlearn.readout.law import PairLaw, relative_force_error

DAMPED = [sympy.sympify(f"-2*(r - 1)*d{a}/(r - 0.01) - dv{a}/4") for a in "xy"]
UNDAMPED = [sympy.sympify(f"-2*(r - 1)*d{a}/(r - 0.01)") for a in "xy"]


def test_the_true_damped_law_gives_the_simulators_forces_and_trajectories():
    data = simulate(get_potential("damped"), 4, 2, sims=3, steps=20, seed=4)
    law = PairLaw(DAMPED, EdgeList.complete(4), softening=0.01)
    x, v, m, q = (np.asarray(a, dtype=float) for a in (data.positions, data.velocities, data.masses, data.charges))
    forces = law.net_forces(x[:, 5], m, q, v[:, 5])
    assert relative_force_error(forces, data.accelerations[:, 5] * m[..., None]) < 1e-5
    orbit = law.rollout(x[:, 0], v[:, 0], m, q, np.asarray(data.times, dtype=float))
    np.testing.assert_allclose(orbit, x, atol=1e-4)
    wrong = PairLaw(UNDAMPED, EdgeList.complete(4), 0.01)  # a missing term shows
    assert relative_force_error(wrong.net_forces(x[:, 5], m, q, v[:, 5]), data.accelerations[:, 5] * m[..., None]) > 0.1
