"""The simulator: initial conditions, exact accelerations, conservation laws, accuracy, repeatability."""
import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from eqlearn.errors import UserInputError
from eqlearn.physics import LAWS, get_potential, pair_accelerations, simulate, total_energy


@pytest.fixture(scope="module")
def spring_2d():
    return simulate(LAWS["spring"], n=4, dim=2, sims=64, steps=200, seed=3)


def _direct_accelerations(x, m, q, law):
    """Sum of pair forces from DESIGN.md §1, one pair at a time, divided by the mass."""
    n = len(m)
    out = np.zeros_like(x)
    for i in range(n):
        for j in range(n):
            if i != j:
                delta = x[i] - x[j]
                length = np.sqrt(delta @ delta)
                r = length + 0.01
                magnitude = {"spring": -2 * (r - 1), "r1": -m[i] * m[j] / r,
                             "r2": -m[i] * m[j] / r**2,
                             "charge": q[i] * q[j] / r**2}[law]
                out[i] += magnitude * delta / length / m[i]
    return out


@pytest.mark.parametrize("law, dim", [("spring", 2), ("r2", 3), ("charge", 2)])
def test_stored_accelerations_match_a_direct_computation(law, dim):
    data = simulate(LAWS[law], n=5, dim=dim, sims=3, steps=20, seed=1)
    for s, t in [(0, 0), (1, 7), (2, 19)]:
        expected = _direct_accelerations(data.positions[s, t].astype(float),
                                         data.masses[s].astype(float),
                                         data.charges[s].astype(float), law)
        np.testing.assert_allclose(data.accelerations[s, t], expected, rtol=2e-5, atol=1e-5)


def test_shapes_dtypes_times_and_meta(spring_2d):
    assert spring_2d.positions.shape == spring_2d.velocities.shape == (64, 200, 4, 2)
    assert spring_2d.accelerations.dtype == spring_2d.masses.dtype == np.float32
    assert spring_2d.masses.shape == spring_2d.charges.shape == (64, 4)
    np.testing.assert_allclose(spring_2d.times, 0.01 * np.arange(200))
    assert {"law": "spring", "potential": "(r - 1)**2", "n": 4, "dim": 2, "dt": 0.01,
            "seed": 3}.items() <= spring_2d.meta.items()
    assert "eqlearn_version" in spring_2d.meta
    assert len(spring_2d) == 64


def test_initial_conditions_follow_the_reference_distribution():
    data = simulate(LAWS["charge"], n=4, dim=3, sims=500, steps=1, seed=0)
    x0 = data.positions[:, 0]
    assert abs(x0.mean()) < 0.05 and abs(x0.std() - 1) < 0.05
    assert abs(np.log(data.masses).std() - 1) < 0.05 and data.masses.min() > 0
    assert set(np.unique(data.charges)) == {-1.0, 1.0}
    uncharged = simulate(LAWS["spring"], n=4, dim=3, sims=500, steps=1, seed=0)
    assert len(np.unique(uncharged.charges)) > 2  # sampled but unused: plain N(0, 1)


@pytest.mark.parametrize("law, dim", [("spring", 2), ("r1", 3), ("damped", 2), ("charge", 3)])
def test_total_momentum_is_conserved(law, dim):
    data = simulate(LAWS[law], n=4, dim=dim, sims=16, steps=100, seed=2)
    momentum = (data.masses[:, None, :, None] * data.velocities.astype(float)).sum(axis=2)
    scale = (data.masses[:, None, :, None] * np.abs(data.velocities)).sum(axis=2).max()
    assert np.abs(momentum - momentum[:, :1]).max() < 1e-5 * scale


def _energy(data, potential):
    return total_energy(data.positions.astype(float), data.velocities.astype(float),
                        data.masses[:, None].astype(float), data.charges[:, None].astype(float),
                        potential)


def test_energy_drift_is_bounded_for_a_conservative_law(spring_2d):
    energy = _energy(spring_2d, LAWS["spring"])
    drift = np.abs(energy - energy[:, :1]).max(axis=1) / np.abs(energy[:, 0])
    assert drift.max() < 1e-4  # measured ~5e-6 over 500 steps, benchmarks/results


def test_damped_law_loses_energy():
    data = simulate(LAWS["damped"], n=4, dim=2, sims=16, steps=100, seed=0)
    energy = _energy(data, LAWS["damped"])
    assert np.all(np.diff(energy, axis=1) < 1e-5)
    assert np.all(energy[:, -1] < energy[:, 0])


def test_trajectories_match_a_high_accuracy_reference_solver(spring_2d):
    potential = LAWS["spring"]
    for s in range(3):
        m, q = spring_2d.masses[s].astype(float), spring_2d.charges[s].astype(float)

        def rhs(t, y):
            x, v = y.reshape(2, 4, 2)
            return np.concatenate([v.ravel(), pair_accelerations(x, v, m, q, potential).ravel()])

        y0 = np.stack([spring_2d.positions[s, 0], spring_2d.velocities[s, 0]]).astype(float)
        reference = solve_ivp(rhs, (0, spring_2d.times[-1]), y0.ravel(), method="DOP853",
                              t_eval=spring_2d.times, rtol=1e-12, atol=1e-12)
        positions = reference.y[:8].T.reshape(-1, 4, 2)
        assert np.abs(positions - spring_2d.positions[s]).max() < 1e-4


def test_same_seed_same_bits_and_nested_sizes():
    first = simulate(LAWS["r2"], n=3, dim=2, sims=5, steps=30, seed=7)
    again = simulate(LAWS["r2"], n=3, dim=2, sims=5, steps=30, seed=7)
    fewer = simulate(LAWS["r2"], n=3, dim=2, sims=2, steps=30, seed=7)
    other = simulate(LAWS["r2"], n=3, dim=2, sims=5, steps=30, seed=8)
    for name in ("positions", "velocities", "accelerations", "masses", "charges"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
        assert np.array_equal(getattr(first, name)[:2], getattr(fewer, name))
    assert not np.array_equal(first.positions, other.positions)


def test_custom_potential_simulates_like_the_builtin_law():
    builtin = simulate(LAWS["spring"], n=3, dim=3, sims=4, steps=50, seed=0)
    custom = simulate(get_potential(expression="(r - 1)**2"), n=3, dim=3, sims=4, steps=50, seed=0)
    np.testing.assert_allclose(custom.positions, builtin.positions, rtol=0, atol=1e-6)
    assert custom.meta["law"] == "custom" and custom.potential().expression == "(r - 1)**2"
    assert builtin.potential() is LAWS["spring"]


def test_pair_accelerations_for_any_batch_shape_and_backend():
    rng = np.random.default_rng(0)
    x, v = 3 * rng.normal(size=(2, 2, 6, 4, 3))  # particles 3x farther apart than simulated
    m, q = np.exp(rng.normal(size=(2, 2, 6, 4)))
    numpy_result = pair_accelerations(x, v, m, q, LAWS["r1"])
    torch_result = pair_accelerations(*map(torch.tensor, (x, v, m, q)), LAWS["r1"])
    assert numpy_result.shape == (2, 6, 4, 3)
    np.testing.assert_allclose(torch_result.numpy(), numpy_result, rtol=1e-12)
    expected = _direct_accelerations(x[1, 5], m[1, 5], q[1, 5], "r1")
    np.testing.assert_allclose(numpy_result[1, 5], expected, rtol=1e-12)


@pytest.mark.parametrize("arguments, message", [
    (dict(n=1), "at least 2 particles"),
    (dict(dim=4), "2-D and 3-D"),
    (dict(dt=0.0), "positive"),
    (dict(dt=-1e-3), "positive"),
    (dict(sims=0), "at least 1"),
])
def test_bad_simulation_settings_are_user_errors(arguments, message):
    settings = dict(n=4, dim=2, sims=2, steps=3) | arguments
    with pytest.raises(UserInputError, match=message):
        simulate(LAWS["spring"], **settings)


def test_a_singular_custom_force_stops_with_a_clear_error():
    with pytest.raises(UserInputError, match="stalled"):
        simulate(get_potential(expression="1/(r - 1.5)**8"), n=2, dim=2, sims=64, steps=300,
                 seed=0)
