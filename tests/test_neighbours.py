"""Neighbour graphs rebuilt from every state, the truncated potentials they model, and a run on them."""
import json

import numpy as np
import pytest
import sympy
import torch

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.errors import UserInputError
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.neighbours import NeighbourGraph, parse_graph
from eqlearn.gnn.node_models import NewtonianNodeModel
from eqlearn.physics.potentials import get_potential
from eqlearn.physics.simulator import simulate
from eqlearn.readout.law import PairLaw
from test_gnn import TrueSpringForce, random_systems


def edge_sets(edges: EdgeList) -> list[set[tuple[int, int]]]:
    """Per graph, the (sender, receiver) pairs that exist."""
    senders = edges.senders.reshape(-1, len(edges.receivers))
    mask = torch.ones_like(senders, dtype=torch.bool) if edges.mask is None else edges.mask.reshape(senders.shape)
    return [{(int(s), int(r)) for s, r, on in zip(row, edges.receivers, keep) if on} for row, keep in zip(senders, mask)]


def test_a_radius_graph_holds_exactly_the_pairs_closer_than_the_radius():
    positions, _, _ = random_systems(batch=6, n=9)
    edges = parse_graph("radius 1.2", 9).for_positions(positions)
    for graph, x in zip(edge_sets(edges), positions):
        distance = torch.cdist(x, x)
        expected = {(j, i) for i in range(9) for j in range(9) if i != j and distance[i, j] < 1.2}
        assert graph == expected


def test_a_knn_graph_gives_every_particle_its_k_nearest_senders():
    positions, _, _ = random_systems(batch=3, n=7)
    edges = parse_graph("knn 3", 7).for_positions(positions)
    for graph, x in zip(edge_sets(edges), positions):
        distance = torch.cdist(x, x).fill_diagonal_(float("inf"))
        for i in range(7):
            assert {j for j, r in graph if r == i} == set(distance[i].argsort()[:3].tolist())


def test_a_radius_wider_than_the_system_gives_the_complete_graphs_accelerations():
    positions, masses, charges = random_systems(batch=4, n=6)
    features = FeatureBuilder(["ux", "uy", "r"], 2, softening=0.01)
    complete = ParticleGNN(features, TrueSpringForce(), NewtonianNodeModel(2), EdgeList.complete(6), antisymmetric=True)
    wide = ParticleGNN(features, TrueSpringForce(), NewtonianNodeModel(2), NeighbourGraph("radius", 100.0, 6),
                       antisymmetric=True)
    torch.testing.assert_close(wide(positions, masses, charges)[0], complete(positions, masses, charges)[0])


def test_the_true_law_on_a_radius_graph_gives_the_truncated_simulators_accelerations():
    data = simulate(get_potential("spring"), 24, 2, sims=3, steps=1, spread=2.0, cutoff=1.5, dtype=np.float64)
    spring = [sympy.sympify(f"-2*(r - 1)*d{axis}/(r - {data.softening})") for axis in "xy"]  # -U'(r) Δ/|Δ|
    truncated = PairLaw(spring, parse_graph("radius 1.5", 24), data.softening)
    everything = PairLaw(spring, EdgeList.complete(24), data.softening)
    accelerations = data.accelerations[:, 0]
    arrays = (data.positions[:, 0], data.masses, data.charges)
    np.testing.assert_allclose(truncated.accelerations(*arrays), accelerations, rtol=1e-9, atol=1e-9)
    assert np.abs(everything.accelerations(*arrays) - accelerations).max() > 1  # the cutoff matters here


def test_bad_graph_settings_are_clear_errors():
    for text in ("radius", "radius -1", "knn 2.5", "ring 3", "radius x"):
        with pytest.raises(UserInputError, match="graph"):
            parse_graph(text, 8)
    with pytest.raises(UserInputError, match="graph"):
        DiscoverConfig(graph="star")


def test_a_run_on_a_radius_graph_reads_a_law_and_says_which_graph(tmp_path):
    config = DiscoverConfig(law="spring", n=12, sims=40, steps=1, spread=1.5, cutoff=1.2, graph="radius 1.2", epochs=2,
                            batch_size=8, out=str(tmp_path / "run"), progress=False, recipe="central")
    discovery = run_discovery(config, log=lambda _: None)
    stored = json.loads((tmp_path / "run" / "equations.json").read_text())
    assert stored["graph"] == "radius 1.2" and len(stored["messages"]) == 2
    assert discovery.truth_free["law_force_error"] is not None


def test_a_radius_is_in_the_datas_units_whatever_units_the_run_trains_in():
    from eqlearn.discovery.config import resolve_config
    from eqlearn.discovery.model import build_model
    from eqlearn.discovery.recipes import DataSpec

    config = resolve_config(DiscoverConfig(graph="radius 300"), DataSpec(16, 2))
    assert build_model(config, length_unit=100.0).edges.size == pytest.approx(3.0)
    assert build_model(config).edges.size == 300


def test_padding_repeats_a_near_pair_and_carries_nothing():
    positions = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [800.0, 0.0]]])
    edges = parse_graph("radius 2", 3).for_positions(positions)
    far = (positions[0, edges.receivers] - positions[0, edges.senders[0]]).norm(dim=-1)
    assert far.max() < 1000 and (far[~edges.mask[0]] <= far.max()).all()
    law = PairLaw([sympy.sympify("dx*exp(r)"), sympy.sympify("dy*exp(r)")], parse_graph("radius 2", 3), 0.0)
    forces = law.net_forces(positions, torch.ones(1, 3), torch.zeros(1, 3))
    assert np.isfinite(forces).all() and forces[0, 2].tolist() == [0.0, 0.0]  # the lone particle feels nothing


def test_a_radius_that_connects_no_pair_and_a_large_k_are_handled(tmp_path):
    from eqlearn.physics.scales import choose_units

    data = simulate(get_potential("spring"), 8, 2, sims=2, steps=1, spread=10.0)
    with pytest.raises(UserInputError, match="larger radius"):
        choose_units(data, within=1e-6)
    assert parse_graph("knn 50", 8).for_positions(torch.tensor(data.positions[:, 0])).senders.shape[-1] == 8 * 7
    one_state = parse_graph("radius 30", 8).for_positions(torch.tensor(data.positions[0, 0]))
    assert one_state.edge_index.shape[0] == 2 and one_state.edge_index.shape[1] == int(one_state.mask.sum())
