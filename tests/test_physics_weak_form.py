"""Weak-form targets: the identity on exact trajectories, uneven times, windows chosen from the noise."""
import numpy as np
import pytest

from eqlearn.physics import get_potential, simulate
from eqlearn.physics.observation import OBSERVATION_TOLERANCE
from eqlearn.physics.weak_form import (
    WINDOW_POINTS,
    bump,
    choose_windows,
    relative_target_noise,
    window_starts,
    window_weights,
    windowed,
)


def orbits(times: np.ndarray):
    """Positions and accelerations [S, T, 2, 2] of two bodies on circles (ω = 1 and 3), times [S, T]."""
    rates = np.array([1.0, 3.0])[None, None, :]
    angle = rates * times[..., None]
    x = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    return x, -x * rates[..., None] ** 2


def jittered(steps: int, span: float, systems: int = 2, seed: int = 0) -> np.ndarray:
    spacing = span / steps
    jitter = np.random.default_rng(seed).uniform(-0.4, 0.4, (systems, steps))
    return spacing * (np.arange(steps) + jitter)


def relative_error(estimate, truth) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2) / np.mean(truth**2)))


def test_the_bump_and_its_second_derivative():
    s = np.linspace(-1, 1, 2001)
    phi, curvature = bump(s, 3)
    assert phi[0] == phi[-1] == 0 and phi[1000] == 1
    numerical = np.gradient(np.gradient(phi, s), s)
    assert np.max(np.abs(numerical - curvature)[5:-5]) < 1e-3 * np.max(np.abs(curvature))


@pytest.mark.parametrize("points", [11, 31, 91])
def test_weak_targets_are_the_weighted_mean_accelerations_of_an_exact_trajectory(points):
    times = np.broadcast_to(np.linspace(0, 4, 200), (2, 200))
    x, a = orbits(times)
    starts = window_starts(200, points, points // 2)
    mean, curvature = window_weights(times, starts, points)
    assert np.allclose(mean.sum(axis=-1), 1.0)
    assert relative_error(windowed(x, starts, curvature), windowed(a, starts, mean)) < 1e-6


def test_the_identity_holds_on_uneven_times_to_quadrature_accuracy():
    times = jittered(400, 4.0)
    x, a = orbits(times)
    errors = []
    for points in (15, 45):
        starts = window_starts(400, points, points // 2)
        mean, curvature = window_weights(times, starts, points)
        errors.append(relative_error(windowed(x, starts, curvature), windowed(a, starts, mean)))
    assert errors[0] < 1e-3 and errors[1] < 1e-5  # more points per window: more accurate


def test_straight_lines_have_no_weak_acceleration_and_parabolas_their_own():
    times = jittered(60, 1.0)
    line = (0.7 + 3.0 * times)[..., None, None]
    parabola = (1.0 - 2.0 * times + 2.5 * times**2)[..., None, None]  # acceleration 5
    starts = window_starts(60, 21, 10)
    _, curvature = window_weights(times, starts, 21)
    assert np.max(np.abs(windowed(line, starts, curvature))) < 1e-9
    assert np.allclose(windowed(parabola, starts, curvature), 5.0, rtol=1e-9)


def test_a_simulated_force_law_integrates_to_the_identity():
    """Stored positions and exact accelerations of r2 systems (close encounters included)."""
    exact = simulate(get_potential("r2"), 4, 2, 20, 100, 1e-4, seed=1, tolerance=OBSERVATION_TOLERANCE, dtype=np.float64)
    times = exact.system_times
    starts = window_starts(100, 45, 23)
    mean, curvature = window_weights(times, starts, 45)
    targets, truth = windowed(exact.positions, starts, curvature), windowed(exact.accelerations, starts, mean)
    per_particle = np.linalg.norm(targets - truth, axis=-1) / np.linalg.norm(truth, axis=-1)
    assert np.median(per_particle) < 1e-6 and np.percentile(per_particle, 95) < 1e-4


def test_windows_start_evenly_and_fit_the_trajectory():
    assert list(window_starts(100, 91, 46)) == [4]
    starts = window_starts(100, 21, 11)
    assert starts[0] >= 0 and starts[-1] + 21 <= 100 and np.all(np.diff(starts) == 11)
    assert len(window_starts(10, 11, 6)) == 0


def test_noise_free_data_get_the_shortest_window_and_noise_widens_it():
    times = np.broadcast_to(np.linspace(0, 6, 300), (4, 300))
    x, a = orbits(times)
    rng = np.random.default_rng(0)
    chosen = []
    for sigma in (0.0, 1e-6, 1e-4, 1e-2):
        choice = choose_windows(x + sigma * rng.standard_normal(x.shape), times)
        chosen.append(choice.points)
        if sigma:
            assert choice.position_noise == pytest.approx(sigma, rel=0.3)
    assert chosen[0] == WINDOW_POINTS[0]
    assert chosen == sorted(chosen) and chosen[-1] > chosen[1]
    record = choice.as_dict()
    assert record["method"] == "weak-form" and record["points"] == chosen[-1]
    assert record["half_width"] == pytest.approx((chosen[-1] - 1) / 2 * times[0, 1])


def test_the_estimated_target_noise_is_the_actual_one():
    times = np.broadcast_to(np.linspace(0, 6, 300), (8, 300))
    x, a = orbits(times)
    sigma = 1e-3
    noisy = x + sigma * np.random.default_rng(1).standard_normal(x.shape)
    for points in (35, 91):
        starts = window_starts(300, points, points // 2)
        mean, curvature = window_weights(times, starts, points)
        error = np.linalg.norm(windowed(noisy, starts, curvature) - windowed(a, starts, mean), axis=-1)
        actual = np.sqrt(np.mean(error**2)) / np.median(np.linalg.norm(windowed(a, starts, mean), axis=-1))
        assert relative_target_noise(noisy, times, sigma, points) == pytest.approx(actual, rel=0.2)


def test_at_most_the_longest_window_allowed():
    times = np.broadcast_to(np.linspace(0, 6, 300), (4, 300))
    x, _ = orbits(times)
    noisy = x + 1e-2 * np.random.default_rng(2).standard_normal(x.shape)
    assert choose_windows(noisy, times, longest=40).points <= 40
    assert choose_windows(noisy[:, :8], times[:, :8]).points == 8


def test_leaving_out_every_other_state_moves_the_mean_only_where_the_sampling_misses_the_motion():
    """The coarse quadrature agrees with the full one on motion the states resolve and differs by
    about the value itself on a peak narrower than the spacing (a close encounter)."""
    from eqlearn.physics.weak_form import coarse_mean_weights

    times = np.linspace(0.0, 1.0, 91)[None]
    starts = window_starts(91, 91, 91)
    mean, _ = window_weights(times, starts, 91)
    coarse = coarse_mean_weights(times, starts, 91)
    assert np.allclose(coarse.sum(-1), 1.0) and np.all(coarse[..., 1::2] == 0)
    smooth = np.sin(3 * times[0]) + 2
    peak = smooth + 50 * np.exp(-(((times[0] - 0.5 - 0.3 / 90) / 0.004) ** 2))  # between two states
    change = lambda values: abs(float(np.sum((mean - coarse)[0, 0] * values))) / float(np.sum(mean[0, 0] * values))
    assert change(smooth) < 1e-6
    assert change(peak) > 0.1
