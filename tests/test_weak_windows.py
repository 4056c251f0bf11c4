"""Windows of states as training samples: weak targets, the same losses, learned masses, refit and verdict."""
import numpy as np
import pytest
import sympy
import torch
from torch import nn

from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.node_models import NewtonianNodeModel
from eqlearn.gnn.particles import LearnedMasses
from eqlearn.gnn.training import GraphObjective, GraphSet, evaluate, predict
from eqlearn.gnn.windows import WindowSet
from eqlearn.physics import get_potential, observe, simulate
from eqlearn.physics.observation import OBSERVATION_TOLERANCE
from eqlearn.physics.weak_form import window_starts
from eqlearn.readout.polish import polish_law_and_masses
from eqlearn.readout.refit import refit_messages
from eqlearn.vocabulary.symbols import DELTA, r


class TrueSpringForce(nn.Module):
    n_messages = 2

    def forward(self, features):
        return -2 * (features[..., 2:3] - 1) * features[..., :2]


@pytest.fixture(scope="module")
def spring():
    return simulate(get_potential("spring"), 4, 2, 12, 60, 1e-3, seed=3, tolerance=OBSERVATION_TOLERANCE,
                    dtype=np.float64)


def spring_model(softening: float) -> ParticleGNN:
    return ParticleGNN(FeatureBuilder(["ux", "uy", "r"], 2, softening), TrueSpringForce(), NewtonianNodeModel(2),
                       EdgeList.complete(4))


def test_windows_hold_their_states_and_the_weak_targets_of_the_positions(spring):
    windows = WindowSet.from_trajectories(observe(spring), points=21, stride=10)
    per_system = len(windows) // len(spring)
    assert len(windows) == per_system * len(spring) and windows.points == 21
    assert len(windows.states) == len(windows) * 21 and windows.accelerations.shape == (len(windows), 4, 2)
    assert torch.equal(windows.system, torch.arange(len(spring)).repeat_interleave(per_system))
    assert torch.allclose(windows.weights.sum(-1), torch.ones(len(windows)))
    # the states' exact accelerations, averaged over each window, are the targets read from the positions
    exact = GraphSet.from_trajectories(spring)
    picked = windows.states.positions.reshape(len(windows), 21, 4, 2)
    first = window_starts(60, 21, 10)[0]
    assert torch.equal(picked[0], exact.positions[first:first + 21]) and first == (60 - 51) // 2
    truth = windows.average(_exact_accelerations(spring, windows))
    assert torch.allclose(windows.accelerations, truth, rtol=1e-4, atol=1e-5)


def _exact_accelerations(trajectories, windows: WindowSet) -> torch.Tensor:
    """The exact accelerations of every window's states (windows 10 steps apart)."""
    starts = window_starts(trajectories.positions.shape[1], windows.points, 10)
    picked = trajectories.accelerations[:, starts[:, None] + np.arange(windows.points)]
    return torch.as_tensor(picked.reshape(-1, *picked.shape[3:]), dtype=torch.float32)


def test_the_true_law_predicts_the_weak_targets_and_the_loss_is_the_same_function(spring):
    windows = WindowSet.from_trajectories(observe(spring), points=21, stride=10)
    model = spring_model(spring.softening)
    predicted = predict(model, windows)
    assert predicted.shape == windows.accelerations.shape
    assert torch.allclose(predicted, windows.accelerations, rtol=1e-3, atol=1e-4)
    loss, _ = GraphObjective(model, 0.0, 0.0)(windows, 0.0)
    assert float(loss) < 1e-6 and evaluate(model, windows) < 1e-3
    # a wrong law is seen through the windows just as it is state by state
    windows.accelerations.mul_(1.1)
    assert float(GraphObjective(model, 0.0, 0.0)(windows, 0.0)[0]) > 1e-3


def test_learned_masses_multiply_both_sides_of_every_window(spring):
    windows = WindowSet.from_trajectories(observe(spring), points=21, stride=10)
    masses = LearnedMasses(np.asarray(spring.masses), (0, 0))
    objective = GraphObjective(spring_model(spring.softening), 0.0, 0.0, learned_masses=masses)
    loss, _ = objective(windows.subset(torch.arange(5)), 0.0)
    loss.backward()
    assert loss.item() < 1e-5 and masses.scale.grad is not None
    heavier = windows.with_masses(2 * windows.masses)
    assert torch.equal(heavier.states.masses, 2 * windows.states.masses)


def test_refit_and_polish_on_windows_find_the_law_from_noisy_positions(spring):
    noisy = observe(spring, noise=1e-6, seed=1)
    windows = WindowSet.from_trajectories(noisy, points=35, stride=5)
    train, held_out = windows.subset(slice(0, len(windows) * 3 // 4)), windows.subset(slice(len(windows) * 3 // 4, None))
    eps = spring.softening
    unit = [d / (r - eps) for d in DELTA[:2]]  # the pair features' unit vector, r = |Δ| + ε
    noisy_formula = {k: (-2.0004 * r + 1.9991 + 0.003 * r**2) * unit[k] for k in range(2)}
    refitted = refit_messages(noisy_formula, train, held_out, spring_model(eps).edges, eps)
    for message, u in zip(refitted, unit):
        for distance in (0.5, 1.5, 2.0):  # the law along Δ = (0.6, 0.8) |Δ|
            point = {DELTA[0]: 0.6 * distance, DELTA[1]: 0.8 * distance, r: distance + eps}
            found, true = (float(e.xreplace(point)) for e in (message.expression, (-2 * r + 2) * u))
            assert found == pytest.approx(true, rel=1e-3), message.expression


def test_polish_on_windows_recovers_masses_and_the_law():
    gravity = simulate(get_potential("r2"), 4, 2, 12, 60, 2e-4, seed=4, tolerance=OBSERVATION_TOLERANCE, dtype=np.float64)
    windows = WindowSet.from_trajectories(observe(gravity), points=35, stride=5)
    every = torch.arange(len(windows))
    train, held_out = windows.subset(every[every % 3 != 0]), windows.subset(every[every % 3 == 0])  # masses: every system in both
    eps = gravity.softening
    reference_mass = float(gravity.masses[0, 0])
    truth = np.asarray(gravity.masses) / reference_mass  # masses in units of particle (0, 0)'s
    m1, m2 = sympy.symbols("m1 m2")
    newton = [-1.03 * reference_mass**2 * m1 * m2 / (r**2 * (r - eps)) * d for d in DELTA[:2]]
    start = truth * np.where(np.arange(truth.size).reshape(truth.shape) == 0, 1.0, 1.02)
    polished = polish_law_and_masses(newton, start, (0, 0), train, held_out, EdgeList.complete(4), eps)
    assert polished.accepted and polished.held_out_error_after < 0.1 * polished.held_out_error_before
    error = np.abs(polished.masses / truth - 1)
    assert np.median(error) < 1e-4 and np.max(error) < 0.02  # a loosely bound particle is the worst


def test_the_loss_on_noisy_targets_is_not_biased_towards_weaker_forces():
    """Targets as noisy as they are large: trained relative to the targets themselves, the multiple
    c of the true forces that training settles on is well below 1; relative to the prediction
    (fixed in the gradient) and the noise it stays at 1 (within the sampling spread)."""
    from types import SimpleNamespace

    from eqlearn.gnn.training import relative_force_error

    generator = torch.Generator().manual_seed(0)
    true = torch.randn(4000, 4, 2, generator=generator, dtype=torch.float64)
    masses = torch.ones(4000, 4, dtype=torch.float64)
    targets = true + torch.randn(true.shape, generator=generator, dtype=torch.float64)

    def trained_scale(target_noise) -> float:
        batch = SimpleNamespace(masses=masses, accelerations=targets, target_noise=target_noise)
        scale = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.Adam([scale], lr=0.02)
        for _ in range(400):
            optimiser.zero_grad()
            relative_force_error(scale * true, batch).backward()
            optimiser.step()
        return float(scale.detach())

    assert trained_scale(None) < 0.8  # the bias the noise-aware form removes
    assert trained_scale(torch.ones(4000, dtype=torch.float64)) == pytest.approx(1.0, abs=0.03)
