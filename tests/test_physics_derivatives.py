"""Accelerations estimated from positions alone: accuracy, noise, the error they report."""
import numpy as np
import pytest

from eqlearn.errors import UserInputError
from eqlearn.physics import Trajectories, complete_derivatives
from eqlearn.physics.derivatives import differentiate, estimate_derivatives, estimate_position_noise


def circular_orbits(times: np.ndarray, systems: int = 3):
    """Positions, velocities, accelerations [S, T, 2, 2] of two bodies on circles (ω = 1 and 2)."""
    rates = np.array([1.0, 2.0])[:, None]
    angle = rates * times[None, :]  # [2, T]
    unit = np.stack([np.cos(angle), np.sin(angle)], -1).transpose(1, 0, 2)  # [T, 2, 2]
    normal = np.stack([-np.sin(angle), np.cos(angle)], -1).transpose(1, 0, 2)
    x, v, a = unit, normal * rates, -unit * rates ** 2
    return tuple(np.repeat(array[None], systems, axis=0) for array in (x, v, a))


def relative_error(estimate, truth) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2) / np.mean(truth ** 2)))


def jittered_times(steps: int, span: float, seed: int = 0) -> np.ndarray:
    spacing = span / steps
    return spacing * (np.arange(steps) + np.random.default_rng(seed).uniform(-0.4, 0.4, steps))


@pytest.mark.parametrize("times", [np.linspace(0, 2 * np.pi, 400), jittered_times(400, 2 * np.pi)],
                         ids=["even", "uneven"])
def test_noise_free_orbits_give_accurate_accelerations_and_velocities(times):
    x, v, a = circular_orbits(times)
    estimate, accelerations, velocities = estimate_derivatives(x, np.broadcast_to(times, x.shape[:2]))
    assert estimate.method == ("savitzky-golay" if np.allclose(np.diff(times), times[1]) else "local-polynomial")
    assert relative_error(accelerations, a) < 1e-5
    assert relative_error(velocities, v) < 1e-6
    assert estimate.window == 7  # no noise: the shortest window
    assert estimate.relative_acceleration_error == pytest.approx(relative_error(accelerations, a), rel=1.0)


def test_the_local_polynomial_equals_savitzky_golay_on_even_times():
    times = np.linspace(0, 3, 60)
    x = circular_orbits(times)[0]
    grid = np.broadcast_to(times, x.shape[:2])
    for deriv in (1, 2):
        assert np.allclose(differentiate(x, grid, 11, 4, deriv, even=True),
                           differentiate(x, grid, 11, 4, deriv, even=False), rtol=1e-8, atol=1e-8)


def test_error_grows_gracefully_with_noise_and_is_reported():
    times = np.linspace(0, 2 * np.pi, 1000)
    x, _, a = circular_orbits(times, systems=2)
    rng = np.random.default_rng(0)
    errors, windows = [], []
    for sigma in (1e-8, 1e-6, 1e-4):
        noisy = x + sigma * rng.standard_normal(x.shape)
        estimate, accelerations, _ = estimate_derivatives(noisy, np.broadcast_to(times, x.shape[:2]))
        assert estimate.position_noise == pytest.approx(sigma, rel=0.3)
        true_error = relative_error(accelerations, a)
        assert estimate.relative_acceleration_error == pytest.approx(true_error, rel=1.5)  # within a factor of ~2
        errors.append(true_error)
        windows.append(estimate.window)
    assert errors == sorted(errors) and errors[-1] < 1e-2  # 1e-4 noise: still better than 1 %
    assert windows == sorted(windows) and windows[0] < windows[-1]  # more noise, longer window


def test_position_noise_is_estimated_on_uneven_times():
    times = jittered_times(500, 10.0)
    x = circular_orbits(times)[0] + 1e-5 * np.random.default_rng(1).standard_normal((3, 500, 2, 2))
    assert estimate_position_noise(x, np.broadcast_to(times, (3, 500))) == pytest.approx(1e-5, rel=0.2)


def test_complete_derivatives_fills_trajectories_and_meta():
    times = np.linspace(0, 1, 50)
    x, v, _ = circular_orbits(times)
    observed = Trajectories(x, None, None, None, None, times, {"law": "circles"}, 0.0, ["a", "b"])
    completed = complete_derivatives(observed)
    assert completed.accelerations.shape == x.shape and completed.velocities.shape == x.shape
    report = completed.meta["derivatives"]
    assert set(report) == {"method", "window", "polyorder", "position_noise", "relative_acceleration_error",
                           "velocities_estimated"}
    assert report["velocities_estimated"] and completed.meta["law"] == "circles" and completed.names == ["a", "b"]
    kept = complete_derivatives(Trajectories(x, v, None, None, None, times))
    assert kept.velocities is v and not kept.meta["derivatives"]["velocities_estimated"]
    with pytest.raises(UserInputError, match="at least 5"):
        complete_derivatives(Trajectories(x[:, :4], None, None, None, None, times[:4]))
    with pytest.raises(UserInputError, match="no times"):
        complete_derivatives(Trajectories(x, None, None, None, None, None))


def test_short_trajectories_still_get_an_error_estimate():
    times = np.linspace(0, 0.5, 6)
    x, _, a = circular_orbits(times)
    estimate, accelerations, _ = estimate_derivatives(x, np.broadcast_to(times, x.shape[:2]))
    assert estimate.window == 5 and relative_error(accelerations, a) < 1e-2
    assert estimate.relative_acceleration_error >= relative_error(accelerations, a) / 3


def test_per_system_times_are_used_system_by_system():
    first, second = np.linspace(0, 2, 80), np.linspace(0, 4, 80)  # each evenly spaced, different steps
    x = np.concatenate([circular_orbits(first, 1)[0], circular_orbits(second, 1)[0]])
    a = np.concatenate([circular_orbits(first, 1)[2], circular_orbits(second, 1)[2]])
    estimate, accelerations, _ = estimate_derivatives(x, np.stack([first, second]))
    assert estimate.method == "savitzky-golay" and relative_error(accelerations, a) < 1e-3
    alone = differentiate(x[1:], second[None], estimate.window, estimate.polyorder, 2, even=True)
    assert np.allclose(accelerations[1:], alone)
