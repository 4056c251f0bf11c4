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
from eqlearn.gnn.particles import LearnedMasses, choose_reference, masses_from_momentum
from eqlearn.gnn.training import GraphSet
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.physics.splits import split_by_time
from eqlearn.readout.polish import polish_law_and_masses


@pytest.fixture(scope="module")
def gravity():
    return simulate(get_potential("r2"), 4, 2, 12, 30, seed=3, progress=False)


def test_momentum_conservation_gives_the_mass_ratios_of_every_system(gravity):
    estimate, trusted = masses_from_momentum(gravity.accelerations)
    truth = gravity.masses / gravity.masses.max(axis=1, keepdims=True)
    assert trusted.all()
    np.testing.assert_allclose(estimate, truth, rtol=1e-3)


def test_momentum_estimate_is_not_trusted_without_pairwise_forces():
    noise = np.random.default_rng(0).standard_normal((3, 10, 4, 2))
    estimate, trusted = masses_from_momentum(noise)
    assert not trusted.any()
    assert np.all(estimate[~trusted] == 1.0)


def test_learned_masses_report_in_units_of_the_reference():
    masses = LearnedMasses(np.array([[2.0, 4.0], [1.0, 8.0]]), reference=(0, 1), trusted=np.array([True, False]))
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
