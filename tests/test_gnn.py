"""The particle GNN: features, graphs and a node model that must reproduce the simulator exactly."""
import numpy as np
import pytest
import sympy
import torch
from torch import nn

from eqlearn.discovery.recipes import RECIPES, DataSpec
from eqlearn.errors import UserInputError
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.node_models import NewtonianNodeModel
from eqlearn.physics.interactions import pair_accelerations
from eqlearn.physics.potentials import get_potential


def random_systems(batch=5, n=4, dim=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, n, dim, generator=g, dtype=torch.float64),
            torch.exp(torch.randn(batch, n, generator=g, dtype=torch.float64)),
            torch.sign(torch.randn(batch, n, generator=g, dtype=torch.float64)))


@pytest.mark.parametrize("dim", [2, 3])
def test_feature_sympy_forms_match_torch(dim):
    positions, masses, charges = random_systems(dim=dim)
    names = ["dx", "ux", "r", "1/r", "1/r^2", "1/r^3", "log_r", "log_m1", "m2", "q1", "q2", "uy"]
    builder = FeatureBuilder(names, dim, softening=0.01)
    context = EdgeList.complete(4).pair_context(positions, masses, charges, softening=0.01)
    values = builder(context).reshape(-1, len(names)).numpy()
    variables = sympy.symbols("dx dy dz r m1 m2 q1 q2")
    inputs = [context.delta[..., k].reshape(-1).numpy() for k in range(dim)]
    inputs += [np.zeros_like(inputs[0])] * (3 - dim)
    inputs += [t.reshape(-1).numpy() for t in (context.r, context.m1, context.m2, context.q1, context.q2)]
    for column, expr in enumerate(builder.expressions):
        expected = np.broadcast_to(sympy.lambdify(variables, expr, "numpy")(*inputs), values[:, column].shape)
        np.testing.assert_allclose(values[:, column], expected, rtol=1e-9, atol=1e-12)


def test_unknown_feature_is_a_clear_error():
    with pytest.raises(UserInputError, match="unknown edge feature.*dw"):
        FeatureBuilder(["dx", "dw"], 2)
    with pytest.raises(UserInputError, match="dz"):
        FeatureBuilder(["dz"], 2)


def test_every_recipe_names_existing_features():
    for recipe in RECIPES.values():
        for spec in (DataSpec(4, 2), DataSpec(4, 3, velocities=True, charges=True, softening=0.01)):
            FeatureBuilder(recipe.features(spec), spec.dim, spec.softening)


def test_complete_graph_and_aggregation():
    edges = EdgeList.complete(4)
    assert len(edges.receivers) == 12
    assert not (edges.receivers == edges.senders).any()
    messages = torch.ones(3, 12, 2)
    np.testing.assert_array_equal(edges.aggregate(messages).numpy(), np.full((3, 4, 2), 3.0))


def test_edge_list_rejects_self_loops_and_bad_indices():
    with pytest.raises(UserInputError, match="self-loop"):
        EdgeList.from_pairs([(0, 0)], 3)
    with pytest.raises(UserInputError, match="indices"):
        EdgeList.from_pairs([(0, 5)], 3)
    with pytest.raises(UserInputError, match="self-loop"):
        EdgeList.from_edge_index(torch.tensor([[0, 1], [2, 1]]), 3)
    with pytest.raises(UserInputError, match=r"indices must lie in \[0, 3\)"):
        EdgeList.from_edge_index(np.array([[0, -1], [1, 0]]), 3)
    for wrong_shape in ([[0, 1], [1, 2], [2, 0]], [0, 1], np.zeros((2, 2, 1))):  # pairs as rows, 1-D, 3-D
        with pytest.raises(UserInputError, match=r"shape \[2, E\]"):
            EdgeList.from_edge_index(wrong_shape, 3)
    with pytest.raises(UserInputError, match="integer array"):
        EdgeList.from_edge_index([[0, 1], [1]], 3)


def test_edge_index_is_pygs_source_then_target_and_round_trips():
    edges = EdgeList.from_pairs([(1, 0), (2, 0), (0, 2)], 3)
    assert edges.edge_index.dtype == torch.long
    assert edges.edge_index.tolist() == [[1, 2, 0], [0, 0, 2]]
    assert edges.senders.tolist() == [1, 2, 0] and edges.receivers.tolist() == [0, 0, 2]
    for graph in (edges, EdgeList.complete(4)):
        again = EdgeList.from_edge_index(graph.edge_index, graph.n_nodes)
        assert torch.equal(again.senders, graph.senders) and torch.equal(again.receivers, graph.receivers)
        assert again.n_nodes == graph.n_nodes
    assert EdgeList.from_edge_index(edges.edge_index.numpy(), 3).edge_index.tolist() == edges.edge_index.tolist()


def test_a_pair_carries_the_sources_message_to_the_target():
    """from_pairs([(0, 1)]): particle 0 sends, particle 1 receives and is the only one to accelerate."""
    positions, masses, charges = random_systems(n=2)
    edges = EdgeList.from_pairs([(0, 1)], 2)
    assert edges.senders.tolist() == [0] and edges.receivers.tolist() == [1]
    torch.testing.assert_close(edges.pair_context(positions, masses, charges).delta[..., 0, :], positions[:, 1] - positions[:, 0])
    model = ParticleGNN(FeatureBuilder(["ux", "uy", "r"], 2, softening=0.01), TrueSpringForce(), NewtonianNodeModel(2), edges)
    predicted, messages = model(positions, masses, charges)
    assert torch.all(predicted[:, 0] == 0) and torch.all(predicted[:, 1] != 0)
    torch.testing.assert_close(predicted[:, 1] * masses[:, 1:2], messages[:, 0])


class TrueSpringForce(nn.Module):
    """An edge model that knows the answer: -2 (r - 1) u from features [ux, uy, r]."""

    n_messages = 2

    def forward(self, features):
        return -2 * (features[..., 2:3] - 1) * features[..., :2]


def test_newtonian_gnn_with_the_true_force_reproduces_the_simulator():
    positions, masses, charges = random_systems()
    model = ParticleGNN(FeatureBuilder(["ux", "uy", "r"], 2, softening=0.01), TrueSpringForce(), NewtonianNodeModel(2),
                        EdgeList.complete(4))
    predicted, messages = model(positions, masses, charges)
    expected = pair_accelerations(positions.numpy(), np.zeros_like(positions.numpy()), masses.numpy(), charges.numpy(), get_potential("spring"))
    np.testing.assert_allclose(predicted.numpy(), np.asarray(expected), rtol=1e-6, atol=1e-8)
    assert messages.shape == (5, 12, 2)


def test_sparse_edge_list_only_uses_its_edges():
    positions, masses, charges = random_systems(n=3)
    chain = EdgeList.from_pairs([(1, 0), (0, 1)], 3)  # particle 2 is not connected
    model = ParticleGNN(FeatureBuilder(["ux", "uy", "r"], 2, softening=0.01), TrueSpringForce(), NewtonianNodeModel(2), chain)
    predicted, _ = model(positions, masses, charges)
    assert torch.all(predicted[:, 2] == 0)
    np.testing.assert_allclose((predicted[:, 0] * masses[:, :1]).numpy(), -(predicted[:, 1] * masses[:, 1:2]).numpy())


def test_antisymmetric_messages_obey_newtons_third_law_and_print_as_computed():
    from eqlearn.gnn.edge_models import EQLEdgeModel

    torch.manual_seed(0)
    names = ["ux", "uy", "r", "log_m1", "m2"]
    model = ParticleGNN(FeatureBuilder(names, 2, softening=0.01), EQLEdgeModel(len(names), 2).double(), NewtonianNodeModel(2),
                        EdgeList.complete(3), antisymmetric=True)
    positions, masses, charges = random_systems(batch=4, n=3)
    with torch.no_grad():
        messages = model.messages(positions, masses, charges)
    edges = model.edges
    for e in range(len(edges.receivers)):
        back = [k for k in range(len(edges.receivers))
                if edges.receivers[k] == edges.senders[e] and edges.senders[k] == edges.receivers[e]][0]
        np.testing.assert_allclose(messages[:, e].numpy(), -messages[:, back].numpy(), atol=1e-12)
    context = model.pair_context(positions, masses, charges)
    variables = sympy.symbols("dx dy r m1 m2")
    inputs = [context.delta[..., 0], context.delta[..., 1], context.r, context.m1, context.m2]
    for k, expr in enumerate(model.message_expressions(threshold=0, digits=12)):
        printed = sympy.lambdify(variables, expr, "numpy")(*(t.numpy() for t in inputs))
        np.testing.assert_allclose(np.broadcast_to(printed, messages[..., k].shape), messages[..., k].numpy(),
                                   rtol=1e-6, atol=1e-9)


def test_reverse_index_finds_each_edges_partner_and_only_in_graphs_that_have_them():
    complete = EdgeList.complete(4)
    reverse = complete.reverse_index()
    assert torch.equal(complete.receivers[reverse], complete.senders)
    assert torch.equal(complete.senders[reverse], complete.receivers)
    assert EdgeList.from_pairs([(1, 0), (2, 1), (1, 2)], 3).reverse_index() is None


def test_antisymmetric_messages_without_reverse_edges_evaluate_the_pair_both_ways():
    """A graph with one-way edges still gets φ(i, j) - φ(j, i): the same numbers as the complete graph's."""
    from eqlearn.gnn.edge_models import EQLEdgeModel

    torch.manual_seed(0)
    names = ["ux", "uy", "r", "m1", "m2"]
    edge_model = EQLEdgeModel(len(names), 2).double()
    complete = ParticleGNN(FeatureBuilder(names, 2, softening=0.01), edge_model, NewtonianNodeModel(2), EdgeList.complete(3),
                           antisymmetric=True)
    one_way_pairs = [(1, 0), (0, 2)]  # (source, target)
    one_way = ParticleGNN(FeatureBuilder(names, 2, softening=0.01), edge_model, NewtonianNodeModel(2),
                          EdgeList.from_pairs(one_way_pairs, 3), antisymmetric=True)
    positions, masses, charges = random_systems(batch=4, n=3)
    with torch.no_grad():
        everything, some = complete.messages(positions, masses, charges), one_way.messages(positions, masses, charges)
    pairs = [tuple(pair) for pair in complete.edges.edge_index.T.tolist()]
    for k, pair in enumerate(one_way_pairs):
        torch.testing.assert_close(some[:, k], everything[:, pairs.index(pair)])


def test_messages_print_in_the_reported_unit_of_mass_before_small_terms_are_dropped():
    """Learned masses train in one unit and are reported in another: the formula printed with
    `mass_unit` computes the same messages from the reported masses, and a law whose coefficient is
    small only in the training unit (0.009 m1 m2 / r², kept at 0.9 when masses are 10x smaller) stays."""
    from eqlearn.gnn.edge_models import EXPONENT_GAIN, CentralEQLEdgeModel

    names = ["ux", "uy", "r", "log_r", "log_m1", "log_m2"]
    edge = CentralEQLEdgeModel(names, 2).double()
    with torch.no_grad():
        for layer in edge.network.layers:
            layer.weight.zero_()
        first, second = edge.network.hidden
        exponents = torch.tensor([0.0, -2.0, 1.0, 1.0], dtype=torch.float64)
        first.weight[6] = exponents / EXPONENT_GAIN  # first exp unit: m1 m2 / r²
        second.weight[0, 5] = 0.3  # an identity unit of layer 2 reads it
        edge.network.output.weight[0, 0] = 0.03
    model = ParticleGNN(FeatureBuilder(names, 2), edge, NewtonianNodeModel(2), EdgeList.complete(3), antisymmetric=True)
    assert model.message_expressions() == [0, 0]  # 0.009 is below the read-out's threshold
    dx, dy, r, m1, m2 = sympy.symbols("dx dy r m1 m2")
    printed = model.message_expressions(mass_unit=10.0)
    assert sympy.simplify(printed[0] - 0.9 * m1 * m2 * dx / r**3) == 0
    positions, masses, charges = random_systems(batch=2, n=3)
    with torch.no_grad():
        messages = model.messages(positions, masses, charges)
    context = model.pair_context(positions, masses / 10.0, charges)
    values = [context.delta[..., 0], context.delta[..., 1], context.r, context.m1, context.m2]
    for k, expr in enumerate(printed):
        np.testing.assert_allclose(sympy.lambdify((dx, dy, r, m1, m2), expr, "numpy")(*(v.numpy() for v in values)),
                                   messages[..., k].numpy(), rtol=1e-6)


def test_a_switched_edge_model_writes_a_step_in_r_times_a_power_law_and_prints_what_it_computes():
    """The `switched` form: σ(a r + b) read from r and a constant only, multiplied in layer 2 by
    2 - 2r, is the discontinuous law's force (0 inside r < 2) up to the smooth step's width."""
    from eqlearn.gnn.edge_models import SWITCHED_EDGE_UNITS, CentralEQLEdgeModel

    names = ["ux", "uy", "r", "log_r", "log_m1", "log_m2"]
    edge = CentralEQLEdgeModel(names, 2, units=SWITCHED_EDGE_UNITS, switches=True).double()
    with torch.no_grad():
        for layer in edge.network.layers:
            layer.weight.zero_()
        first, second = edge.network.hidden
        first.weight[0, 0] = 1.0  # identity unit: r
        first.weight[10] = torch.tensor([5.0, 1.0, 1.0, 1.0, 2.0, -4.0], dtype=torch.float64)  # sigmoid: only 20 r - 40 counts
        second.weight[2, 9] = 1.0  # first product unit (rows 2 and 4): σ(20 (r - 2)) ...
        second.weight[4, 0], second.weight[4, 1] = 2.0, -2.0  # ... × (2 - 2r)
        edge.network.output.weight[0, 2] = 1.0
    model = ParticleGNN(FeatureBuilder(names, 2), edge, NewtonianNodeModel(2), EdgeList.complete(4), antisymmetric=True)
    positions, masses, charges = random_systems(batch=50, n=4)
    positions = positions * 2
    with torch.no_grad():
        messages = model.messages(positions, masses, charges)
    context = model.pair_context(positions, masses, charges)
    r = context.r.numpy()
    force = np.where(r < 2, 0.0, -2 * (r - 1))[..., None] * context.delta.numpy() / r[..., None]
    away = np.abs(r - 2) > 0.5
    np.testing.assert_allclose(messages.numpy()[away], force[away], atol=1e-3)
    printed = model.message_expressions()
    dx, dy, rs = sympy.symbols("dx dy r")
    assert printed[0].has(sympy.tanh) and not printed[0].free_symbols - {dx, rs}  # σ(x) = (1 + tanh(x/2))/2
    for k, expr in enumerate(printed):
        values = [context.delta[..., 0].numpy(), context.delta[..., 1].numpy(), r]
        np.testing.assert_allclose(sympy.lambdify((dx, dy, rs), expr, "numpy")(*values), messages[..., k].numpy(),
                                   rtol=5e-3, atol=1e-6)


def test_switches_start_as_steps_inside_the_data_distances():
    """Each sigmoid unit starts as a step at a quantile of the distances it is given, alternately
    switching on and off; the other units keep their random start."""
    from eqlearn.gnn.edge_models import SWITCH_GAIN, SWITCHED_EDGE_UNITS, CentralEQLEdgeModel

    names = ["ux", "uy", "r", "log_r", "log_m1", "log_m2"]
    torch.manual_seed(0)
    edge = CentralEQLEdgeModel(names, 2, units=SWITCHED_EDGE_UNITS, switches=True)
    first = edge.network.hidden[0]
    others = [row for row in range(first.weight.shape[0]) if row not in first.rows_of("sigmoid")]
    before = first.weight.detach().clone()
    distances = torch.linspace(1.0, 4.0, 301)
    edge.place_switches(distances)
    rows = list(first.rows_of("sigmoid"))
    assert len(rows) == 2
    r_column, one_column = len(edge.scalar_names), len(edge.scalar_names) + 1
    for k, row in enumerate(rows):
        w = first.weight[row].detach()
        assert torch.count_nonzero(w) == 2
        place = -float(w[one_column] / w[r_column])
        np.testing.assert_allclose(place, [2.0, 3.0][k], atol=0.02)  # the 1/3 and 2/3 quantiles
        assert (w[r_column] > 0) == (k == 0)
        slope = abs(float(w[r_column])) * SWITCH_GAIN
        np.testing.assert_allclose(slope, 4.0 / 1.5, rtol=0.02)  # over half the interquartile range
    torch.testing.assert_close(first.weight.detach()[others], before[others])
