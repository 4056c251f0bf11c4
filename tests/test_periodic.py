"""Periodic boxes: minimum-image pairs in the simulator, the graphs, the law on data and a run end to end."""
import itertools
import json
from dataclasses import replace

import numpy as np
import pytest
import sympy
import torch

from eqlearn.cli import main
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.errors import UserInputError
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import parse_graph
from eqlearn.gnn.training import GraphSet
from eqlearn.physics import complete_derivatives, get_potential, load_dataset, save_dataset, simulate
from eqlearn.physics.interactions import pair_accelerations
from eqlearn.physics.observation import simulate_positions
from eqlearn.physics.scales import DataUnits
from eqlearn.physics.splits import split_by_time
from eqlearn.readout.law import PairLaw
from eqlearn.readout.verify import parse_message, sample_pairs
from eqlearn.vocabulary.periodic import displacement, minimum_image, orthorhombic_lengths, unwrap, wrap

SPRING = [parse_message(f"-2*(r - 1)*d{axis}/(r - 0.01)") for axis in "xy"]  # the spring's -U'(r) Δ/|Δ|


def test_the_minimum_image_is_the_nearest_of_all_images():
    rng = np.random.default_rng(0)
    box = np.array([2.0, 3.5, 5.0])
    receivers, senders = rng.uniform(-4, 9, (500, 3)), rng.uniform(-4, 9, (500, 3))
    delta = displacement(receivers, senders, box)
    shifts = np.array(list(itertools.product(range(-7, 8), repeat=3))) * box  # 7 boxes of 2 cover points 13 apart
    images = (receivers - senders)[:, None] + shifts
    nearest = images[np.arange(500), np.linalg.norm(images, axis=-1).argmin(axis=1)]
    np.testing.assert_allclose(delta, nearest, atol=1e-12)
    assert np.all(np.abs(delta) <= box / 2 + 1e-12)
    as_torch = displacement(torch.as_tensor(receivers), torch.as_tensor(senders), torch.as_tensor(box))
    np.testing.assert_allclose(as_torch.numpy(), delta)
    np.testing.assert_array_equal(displacement(receivers, senders), receivers - senders)  # open space: unchanged


def test_wrapping_moves_by_whole_boxes_and_unwrapping_restores_the_path():
    box = np.array([2.0, 3.0])
    path = np.cumsum(np.random.default_rng(1).normal(0, 0.2, (1, 200, 4, 2)), axis=1) + 1.0  # [S, T, n, d]
    wrapped = wrap(path, box)
    assert np.all((wrapped >= 0) & (wrapped < box))
    np.testing.assert_allclose(minimum_image(wrapped - path, box), 0, atol=1e-12)
    assert np.abs(np.diff(wrapped, axis=1)).max() > 1.0  # some particle crossed a face
    np.testing.assert_allclose(unwrap(wrapped, box), path - path[:, :1] + wrapped[:, :1], atol=1e-9)


def test_a_radius_graph_reaches_through_the_boundary():
    positions = torch.tensor([[[0.1, 1.0], [3.9, 1.0], [2.0, 1.0]]])  # 0 and 1 are 0.2 apart across x = 0
    box = torch.tensor([[4.0, 4.0]])
    open_edges = parse_graph("radius 0.5", 3).for_positions(positions)
    periodic = parse_graph("radius 0.5", 3).for_positions(positions, box)
    existing = lambda edges: {(int(s), int(r)) for s, r, on in zip(edges.senders[0], edges.receivers, edges.mask[0]) if on}
    assert existing(open_edges) == set() and existing(periodic) == {(1, 0), (0, 1)}
    nearest = parse_graph("knn 1", 3).for_positions(positions, box)
    assert nearest.senders[0].tolist() == [1, 0, 0]  # 2 is 1.9 from both; ties go to the lower index
    context = periodic.pair_context(positions, torch.ones(1, 3), torch.zeros(1, 3), box=box)
    torch.testing.assert_close(context.delta[0, 0], torch.tensor([0.2, 0.0]))  # Δ = x_0 - x_1 through the face
    with pytest.raises(UserInputError, match="half the periodic box"):
        parse_graph("radius 2.5", 3).for_positions(positions, box)


def test_the_simulator_wraps_positions_and_its_forces_use_the_nearest_images():
    data = simulate(get_potential("spring"), 5, 2, sims=3, steps=30, dt=0.05, seed=2, box=3.0, dtype=np.float64)
    assert data.box.tolist() == [3.0, 3.0] and data.meta["box"] == [3.0, 3.0]
    assert np.all((data.positions >= 0) & (data.positions <= 3.0))
    assert np.abs(np.diff(data.positions, axis=1)).max() > 1.5  # particles crossed the boundary
    masses = np.repeat(data.masses[:, None], 30, axis=1)
    charges = np.repeat(data.charges[:, None], 30, axis=1)
    exact = pair_accelerations(data.positions, data.velocities, masses, charges, get_potential("spring"), box=data.box)
    np.testing.assert_allclose(data.accelerations, exact, rtol=1e-10, atol=1e-10)
    unboxed = pair_accelerations(data.positions, data.velocities, masses, charges, get_potential("spring"))
    assert not np.allclose(data.accelerations, unboxed)  # the images matter for these states
    law = PairLaw(SPRING, EdgeList.complete(5), data.softening)
    np.testing.assert_allclose(law.accelerations(data.positions, masses, charges, box=data.box), data.accelerations,
                               rtol=1e-8, atol=1e-8)
    with pytest.raises(UserInputError, match="box"):
        simulate(get_potential("spring"), 3, 2, sims=1, steps=2, box=[1.0, -1.0])


def test_the_true_law_on_a_periodic_radius_graph_gives_the_truncated_simulators_accelerations():
    data = simulate(get_potential("spring"), 30, 2, sims=2, steps=3, box=5.0, cutoff=1.5, dtype=np.float64)
    graphs = GraphSet.from_trajectories(data)
    law = PairLaw(SPRING, parse_graph("radius 1.5", 30), data.softening)
    forces = law.net_forces(*graphs.inputs)
    np.testing.assert_allclose(forces, graphs.accelerations.double().numpy() * graphs.masses.double().numpy()[..., None],
                               rtol=1e-4, atol=1e-4)  # GraphSet holds float32


def test_accelerations_estimated_from_wrapped_positions_follow_the_crossing_particles():
    # cut off where the spring's force is zero (|Δ| = 0.99): a force without jumps, smooth enough to differentiate
    observed = simulate_positions(get_potential("spring"), 4, 2, sims=2, steps=60, seed=3, box=2.5, cutoff=0.99)
    exact = simulate(get_potential("spring"), 4, 2, sims=2, steps=60, seed=3, box=2.5, cutoff=0.99, dtype=np.float64,
                     tolerance=1e-10)
    assert np.abs(np.diff(observed.positions, axis=1)).max() > 1.2  # crossings in what is differentiated
    estimated = complete_derivatives(observed).accelerations
    scale = np.sqrt(np.mean(exact.accelerations**2))
    assert np.sqrt(np.mean((estimated - exact.accelerations) ** 2)) < 1e-2 * scale  # read across the jumps: ~100x


def test_a_data_file_carries_its_box(tmp_path):
    data = simulate(get_potential("spring"), 3, 3, sims=2, steps=4, box=[2.0, 3.0, 4.0])
    arrays = {"positions": data.positions, "accelerations": data.accelerations, "masses": data.masses}
    for box in ([2.0, 3.0, 4.0], [[2.0, 3.0, 4.0]] * 2, np.full((2, 4, 3), 3.0), np.diag([2.0, 3.0, 4.0])):
        np.savez(tmp_path / "boxed.npz", **arrays, box=np.asarray(box))
        loaded = load_dataset(tmp_path / "boxed.npz")
        assert loaded.state_boxes.shape == (2, 4, 3) and np.all(loaded.state_boxes > 0)
    save_dataset(tmp_path / "saved.npz", data)
    np.testing.assert_array_equal(load_dataset(tmp_path / "saved.npz").box, [2.0, 3.0, 4.0])
    tilted = np.diag([2.0, 3.0, 4.0]) + np.triu(np.full((3, 3), 0.5), k=1)
    for box, message in (([2.0, 3.0], "shape"), ([2.0, 0.0, 4.0], "positive"), ([2.0, np.inf, 4.0], "finite"),
                         (tilted, "not orthorhombic")):
        np.savez(tmp_path / "bad.npz", **arrays, box=np.asarray(box))
        with pytest.raises(UserInputError, match=message):
            load_dataset(tmp_path / "bad.npz")
    with pytest.raises(UserInputError, match="off-diagonal"):
        orthorhombic_lengths(tilted)


def test_a_box_follows_its_systems_through_splits_and_units():
    data = simulate(get_potential("spring"), 3, 2, sims=4, steps=10, box=3.0)
    per_state = replace(data, box=np.arange(1, 81, dtype=float).reshape(4, 10, 2))
    picked = per_state.select([2, 3])
    np.testing.assert_array_equal(picked.box, per_state.box[2:])
    train, _, test = split_by_time(picked)
    np.testing.assert_array_equal(test.state_boxes, per_state.box[2:, 9:])
    assert GraphSet.from_trajectories(train).box.shape == (2 * 8, 2)
    scaled = DataUnits(length=0.5, time=2.0).apply(data)
    np.testing.assert_allclose(scaled.box, data.box / 0.5)
    np.testing.assert_allclose(minimum_image(scaled.positions * 0.5 - data.positions, data.box), 0, atol=1e-6)


def _law_found(tmp_path, name: str, box) -> tuple[dict, np.ndarray]:
    data = simulate(get_potential("spring"), 4, 2, sims=40, steps=8, dt=0.05, seed=1, box=box)
    save_dataset(tmp_path / f"{name}.npz", data)
    run_discovery(DiscoverConfig(data=str(tmp_path / f"{name}.npz"), out=str(tmp_path / name), recipe="central", epochs=10,
                                 progress=False), log=lambda _: None)
    return json.loads((tmp_path / name / "equations.json").read_text()), data.positions


def test_a_periodic_system_gives_the_same_law_as_an_open_one(tmp_path):
    periodic, positions = _law_found(tmp_path, "periodic", 3.0)
    assert np.abs(np.diff(positions, axis=1)).max() > 1.5  # particles crossed the boundary
    open_space, _ = _law_found(tmp_path, "open", None)
    for found in (periodic, open_space):
        assert found["verification"]["passed"] and all(found["verification"]["exact"]), found["canonical"]
    values = sample_pairs(2, 200, seed=0, charged=False)
    evaluate = lambda text: sympy.lambdify(sorted(values), parse_message(text), "numpy")(**{k: values[k] for k in sorted(values)})
    for a, b in zip(periodic["canonical"], open_space["canonical"]):
        np.testing.assert_allclose(evaluate(a), evaluate(b), rtol=1e-2)


def test_simulate_box_flag_writes_a_periodic_file(tmp_path, capsys):
    out = tmp_path / "boxed.npz"
    assert main(["simulate", "--law", "spring", "--sims", "2", "--steps", "3", "--box", "2.5", "--out", str(out)]) == 0
    assert load_dataset(out).box.tolist() == [2.5, 2.5]
    assert main(["simulate", "--law", "spring", "--box", "-1", "--out", str(tmp_path / "bad.npz")]) == 2
    assert "box" in capsys.readouterr().err
