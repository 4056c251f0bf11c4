"""An eqlearn edge model inside a PyTorch Geometric layer sends the particle GNN's messages."""
import importlib
import sys

import pytest
import torch

from eqlearn.errors import UserInputError
from eqlearn.gnn.edge_models import CentralEQLEdgeModel, EQLEdgeModel
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.node_models import NewtonianNodeModel

N, DIM = 5, 2
#: Not complete: particle 4 sends and receives nothing, 0 → 1 has no reverse, 3 only sends.
SPARSE_PAIRS = [(0, 1), (1, 2), (2, 1), (3, 0), (3, 2)]
CENTRAL_FEATURES = ["ux", "uy", "dvx", "dvy", "r", "log_m1", "log_m2", "q1", "q2"]
FREE_FEATURES = ["dx", "dy", "ux", "uy", "r", "1/r", "m1", "m2", "q1", "q2"]


@pytest.fixture
def conv_class():
    pytest.importorskip("torch_geometric")
    from eqlearn.gnn.pyg import EdgeModelConv

    return EdgeModelConv


def random_particles(seed=0):
    g = torch.Generator().manual_seed(seed)
    draw = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)
    return draw(N, DIM), draw(N).exp(), draw(N).sign(), draw(N, DIM)


def particle_gnn(names, edge_model, edges, antisymmetric):
    torch.manual_seed(0)
    return ParticleGNN(FeatureBuilder(names, DIM, softening=0.01), edge_model.double(), NewtonianNodeModel(DIM), edges,
                       antisymmetric=antisymmetric)


@pytest.mark.parametrize("edges", [EdgeList.complete(N), EdgeList.from_pairs(SPARSE_PAIRS, N)], ids=["complete", "sparse"])
@pytest.mark.parametrize("antisymmetric", [False, True])
@pytest.mark.parametrize("central", [True, False], ids=["central", "free"])
def test_summed_messages_equal_the_particle_gnns(conv_class, edges, antisymmetric, central):
    torch.manual_seed(0)
    if central:
        names, edge_model = CENTRAL_FEATURES, CentralEQLEdgeModel(CENTRAL_FEATURES, DIM)
    else:
        names, edge_model = FREE_FEATURES, EQLEdgeModel(len(FREE_FEATURES), n_messages=3)
    model = particle_gnn(names, edge_model, edges, antisymmetric)
    positions, masses, charges, velocities = random_particles()
    with torch.no_grad():
        expected = model.edges.aggregate(model.messages(positions, masses, charges, velocities))
        summed = conv_class.from_particle_gnn(model)(positions, masses, charges, edges.edge_index, velocities)
    assert summed.shape == (N, edge_model.n_messages)
    torch.testing.assert_close(summed, expected)
    if 4 not in edges.receivers:
        assert torch.all(summed[4] == 0)  # nothing is sent to particle 4


def test_the_layer_trains_the_edge_model_it_shares(conv_class):
    model = particle_gnn(FREE_FEATURES, EQLEdgeModel(len(FREE_FEATURES), n_messages=2), EdgeList.complete(N), False)
    positions, masses, charges, _ = random_particles()
    conv_class.from_particle_gnn(model)(positions, masses, charges, EdgeList.complete(N).edge_index).sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.edge_model.parameters())


def test_bad_graphs_and_missing_velocities_are_user_input_errors(conv_class):
    conv = conv_class(FeatureBuilder(CENTRAL_FEATURES, DIM), CentralEQLEdgeModel(CENTRAL_FEATURES, DIM).double())
    positions, masses, charges, velocities = random_particles()
    with pytest.raises(UserInputError, match="self-loops"):
        conv(positions, masses, charges, torch.tensor([[0, 1], [0, 2]]), velocities)
    with pytest.raises(UserInputError, match=r"\[0, 5\)"):
        conv(positions, masses, charges, torch.tensor([[0], [5]]), velocities)
    with pytest.raises(UserInputError, match="pass velocities"):
        conv(positions, masses, charges, EdgeList.complete(N).edge_index)


def test_without_torch_geometric_the_import_error_says_what_to_install(monkeypatch):
    for name in ("torch_geometric", "torch_geometric.nn"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "eqlearn.gnn.pyg", raising=False)
    with pytest.raises(ImportError, match=r'pip install "eqlearn\[pyg\]"'):
        importlib.import_module("eqlearn.gnn.pyg")
