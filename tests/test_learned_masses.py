"""Masses the data do not carry: momentum estimate, learned masses, time splits, joint polish, end to end."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import sympy
import torch

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.eql.training import Phase, train
from eqlearn.errors import UserInputError
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.particles import MASS_UNCERTAINTY, LearnedMasses, choose_reference, masses_from_momentum
from eqlearn.gnn.training import GraphSet
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.physics.splits import split_by_time
from eqlearn.physics.weak_form import momentum_targets
from eqlearn.readout.polish import polish_law_and_masses


@pytest.fixture(scope="module")
def gravity():
    return simulate(get_potential("r2"), 4, 2, 12, 30, seed=3, progress=False)


def test_momentum_conservation_gives_the_mass_ratios_of_every_system(gravity):
    estimate = masses_from_momentum(gravity.accelerations)
    truth = gravity.masses / gravity.masses.max(axis=1, keepdims=True)
    assert estimate.trusted.all()
    np.testing.assert_allclose(estimate.masses, truth, rtol=1e-3)


def test_momentum_estimate_is_not_trusted_without_pairwise_forces():
    noise = np.random.default_rng(0).standard_normal((3, 10, 4, 2))
    estimate = masses_from_momentum(noise)
    assert not estimate.trusted.any()
    assert np.all(estimate.masses == 1.0) and np.all(np.isinf(estimate.errors))


def test_momentum_trusts_each_mass_only_as_far_as_the_noise_allows():
    """A light body whose momentum is below the noise on the heavy ones' accelerations is left to
    the law; the heavy ones' estimates stay trusted."""
    rng = np.random.default_rng(1)
    masses = np.array([1.0, 0.5, 1e-4])
    light = rng.standard_normal((1, 400, 2, 2))  # particles 1 and 2
    heavy = -(masses[1] * light[:, :, :1] + masses[2] * light[:, :, 1:]) / masses[0]
    accelerations = np.concatenate([heavy, light], axis=2) + 1e-3 * rng.standard_normal((1, 400, 3, 2))
    estimate = masses_from_momentum(accelerations)
    assert estimate.trusted.tolist() == [[True, True, False]]
    np.testing.assert_allclose(estimate.masses[0, :2], masses[:2], rtol=1e-2)
    relative = estimate.masses[0] / masses - 1
    assert np.all(np.abs(relative) < 4 * estimate.errors[0])  # the errors are of the right size ...
    assert estimate.errors[0, 2] > MASS_UNCERTAINTY > 10 * estimate.errors[0, 1]  # ... and tell the light body apart


def test_momentum_from_weak_targets_of_every_width_gives_the_mass_ratios():
    """Positions only: the weak targets at every window width, in units of their error, balance
    momentum as the accelerations do."""
    exact = simulate(get_potential("r2"), 4, 2, 6, 30, seed=3, progress=False, dtype=np.float64)
    estimate = masses_from_momentum(momentum_targets(exact.positions, np.asarray(exact.system_times)))
    assert estimate.trusted.all()
    np.testing.assert_allclose(estimate.masses, exact.masses / exact.masses.max(axis=1, keepdims=True), rtol=1e-6)


def test_learned_masses_report_in_units_of_the_reference():
    masses = LearnedMasses(np.array([[2.0, 4.0], [1.0, 8.0]]), reference=(0, 1), errors=np.array([[1e-3, 1e-3], [np.inf, np.inf]]))
    np.testing.assert_allclose(masses.in_reference_units(), [[0.5, 1.0], [0.25, 2.0]])
    assert masses.unit == pytest.approx(4.0)
    assert float(masses.drift().detach()) == 0.0
    with torch.no_grad():
        masses.correction.add_(1.0)  # a trusted system keeps its momentum ratios; only its scale trains
    np.testing.assert_allclose(masses.in_reference_units()[0], [0.5, 1.0])


def test_reference_particle_by_name_or_index_and_a_clear_error():
    initial = np.array([[0.1, 1.0, 0.5]])
    assert choose_reference(initial, None, None) == (0, 1)
    assert choose_reference(initial, ["Sun", "Earth", "Moon"], "Moon") == (0, 2)
    assert choose_reference(initial, None, "0") == (0, 0)
    with pytest.raises(UserInputError, match="not a particle"):
        choose_reference(initial, ["Sun", "Earth", "Moon"], "Pluto")


def test_time_split_keeps_every_system_and_orders_the_blocks(gravity):
    train_part, validation, test = split_by_time(gravity)
    assert [len(t) for t in (train_part, validation, test)] == [12, 12, 12]
    assert [t.positions.shape[1] for t in (train_part, validation, test)] == [24, 3, 3]
    assert train_part.times[-1] < validation.times[0] < test.times[0]
    # in whole blocks (weak-form windows): 30 steps are six blocks of 5 (training four), blocks of 8 are too few
    blocks = split_by_time(gravity, block=5)
    assert [t.positions.shape[1] for t in blocks] == [20, 5, 5]
    with pytest.raises(UserInputError, match="blocks of 8"):
        split_by_time(gravity, block=8)
    with pytest.raises(UserInputError, match="too few"):
        split_by_time(replace(gravity, positions=gravity.positions[:, :3], accelerations=gravity.accelerations[:, :3],
                              velocities=gravity.velocities[:, :3], times=gravity.times[:3]))


def test_spread_subset_reaches_every_system(gravity):
    graphs = GraphSet.from_trajectories(gravity)
    assert set(graphs.spread(40).system.tolist()) == set(range(12))


def test_polish_recovers_masses_and_coefficient_for_a_known_form(gravity):
    graphs = GraphSet.from_trajectories(gravity)
    true = gravity.masses / gravity.masses[0, 0]
    start = true * np.exp(np.random.default_rng(1).normal(0, 0.05, true.shape))
    start[0, 0] = 1.0
    dx, dy, r, m1, m2 = sympy.symbols("dx dy r m1 m2")
    eps = gravity.softening
    # in units of the reference mass M, a_i = F_ij / m_i holds with F' = F / M = -M m1 m2 Δ/(|Δ| r²)
    scale = float(gravity.masses[0, 0])
    law = [-0.9 * scale * d * m1 * m2 / ((r - eps) * r**2) for d in (dx, dy)]
    fitted = polish_law_and_masses(law, start, (0, 0), graphs, graphs, EdgeList.complete(4), eps)
    assert fitted.accepted and fitted.held_out_error_after < 1e-4
    np.testing.assert_allclose(fitted.masses, true, rtol=5e-3)  # from 5 % off to within 0.5 %
    coefficient = float(sympy.Add.make_args(sympy.expand(fitted.law[0]))[0].as_coeff_Mul()[0])
    assert coefficient == pytest.approx(-scale, rel=1e-3)


def test_polish_holds_masses_to_the_momentum_estimate_as_firmly_as_its_errors_say(gravity):
    """On noisy targets the fit alone moves the masses with the noise; a sharp momentum estimate
    of the ratios (here the true ones, 1e-4) keeps them, and an unknown one (inf) changes nothing."""
    noisy = replace(gravity, accelerations=gravity.accelerations
                    * (1 + 0.05 * np.random.default_rng(2).standard_normal(gravity.accelerations.shape)))
    graphs = GraphSet.from_trajectories(noisy)
    true = gravity.masses / gravity.masses[0, 0]
    dx, dy, r, m1, m2 = sympy.symbols("dx dy r m1 m2")
    eps, scale = gravity.softening, float(gravity.masses[0, 0])
    law = [-scale * d * m1 * m2 / ((r - eps) * r**2) for d in (dx, dy)]
    polish = lambda prior: polish_law_and_masses(law, true, (0, 0), graphs, graphs, EdgeList.complete(4), eps, prior=prior)
    free, unknown = polish(None), polish((np.log(true), np.full(true.shape, np.inf)))
    held = polish((np.log(true) + 0.3, np.full(true.shape, 1e-4)))  # ratios only: a common offset is free
    ratios = lambda masses: masses / masses[:, :1]  # each system's own scale is the fit's alone
    drift = lambda fitted: np.abs(ratios(fitted.masses) / ratios(true) - 1).max()
    assert drift(free) > 1e-2 and drift(unknown) == pytest.approx(drift(free))
    assert drift(held) < 1e-3


def test_a_frozen_phase_does_not_train_the_named_parameters():
    model = torch.nn.ModuleDict({"gnn": torch.nn.Linear(1, 1), "masses": torch.nn.Linear(1, 1)})
    before = model["masses"].weight.detach().clone()
    objective = lambda batch, _: (((model["gnn"](batch) + model["masses"](batch)) ** 2).mean(), {})
    train(model, objective, lambda: [torch.ones(4, 1)], [Phase(3, 0.1, frozen=("masses",))], progress=False)
    assert torch.equal(model["masses"].weight, before)


def test_discover_learns_masses_from_a_file_without_them(tmp_path, gravity):
    data = simulate(get_potential("r2"), 4, 2, 20, 20, seed=0, progress=False)
    path = tmp_path / "no_masses.npz"
    save_dataset(path, replace(data, masses=None), metadata=False)
    config = DiscoverConfig(data=str(path), out=str(tmp_path / "run"), epochs=4, progress=False, recipe="central")
    discovery = run_discovery(config, log=lambda _: None)
    equations = json.loads((tmp_path / "run" / "equations.json").read_text())
    assert discovery.config.learn_masses is True
    particles = equations["particles"]
    assert len(particles["table"]) == 20 * 4 and "true_mass" not in particles["table"][0]
    reference = particles["reference"]
    assert particles["table"][int(reference["name"])]["learned_mass"] == pytest.approx(1.0)
    assert (tmp_path / "run" / "masses.png").exists()
    assert equations["verification"] is None  # neither a stored law nor true masses to judge by


def test_learn_masses_with_true_masses_reports_the_ratio(tmp_path):
    data = simulate(get_potential("r2"), 3, 2, 15, 20, seed=1, progress=False)
    path = tmp_path / "with_masses.npz"
    save_dataset(path, data)
    config = DiscoverConfig(data=str(path), out=str(tmp_path / "run"), epochs=4, progress=False, learn_masses=True, recipe="central",
                            reference_particle="1")
    equations = run_discovery(config, log=lambda _: None).equations()
    assert equations["particles"]["reference"] == {"system": 0, "name": "1"}
    row = equations["particles"]["table"][1]
    assert row["true_mass"] == pytest.approx(1.0) and row["learned_mass"] == pytest.approx(1.0)
    assert "max_relative_error" in equations["particles"]
