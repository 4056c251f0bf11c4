"""Penalties, hard-concrete gates and pruning: pruned weights are exactly zero and stay zero."""
import pytest
import sympy
import torch

from eqlearn.eql.network import EQLNetwork
from eqlearn.eql.sparsity import (
    HardConcreteGate,
    attach_gates,
    count_active_weights,
    eql_layers,
    prune,
    weight_penalty,
)
from eqlearn.eql.training import Phase, train


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train far faster on one thread, above all on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fitted_network(penalty: str = "l12", epochs: int = 150) -> tuple[EQLNetwork, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.rand(128, 2) * 2 - 1
    y = (x[:, :1] ** 2 + x[:, 1:]) / 2
    network = EQLNetwork(2, 1, {"constant": 1, "identity": 2, "square": 2, "sin": 1, "product": 1})
    if penalty == "l0":
        attach_gates(network)

    def objective(_batch, regularization):
        loss = ((network(x) - y) ** 2).mean() + regularization * weight_penalty(network, penalty)
        return loss, {"loss": float(loss.detach())}

    train(network, objective, lambda: [None], [Phase(epochs, 1e-2, regularization=1e-3)], progress=False)
    return network, x, y


def test_pruned_weights_are_exactly_zero_and_stay_zero_through_training():
    network, x, y = fitted_network()
    threshold = 0.05
    prune(network, threshold)
    for layer in eql_layers(network):
        small = layer.mask == 0
        assert small.any()
        assert (layer.effective_weight()[small] == 0).all()
        assert (layer.effective_weight()[~small].abs() >= threshold).all()
    before = [layer.mask.clone() for layer in eql_layers(network)]

    def objective(_batch, _regularization):
        loss = ((network(x) - y) ** 2).mean()
        return loss, {"loss": float(loss.detach())}

    train(network, objective, lambda: [None], [Phase(50, 1e-2)], progress=False)
    for layer, mask in zip(eql_layers(network), before):
        assert torch.equal(layer.mask, mask)
        assert (layer.effective_weight()[mask == 0] == 0).all()


def test_units_whose_inputs_are_all_pruned_vanish_from_the_read_out():
    torch.manual_seed(0)
    network = EQLNetwork(1, 1, {"identity": 1, "sin": 1}, depth=1)
    with torch.no_grad():
        network.hidden[0].weight.copy_(torch.tensor([[2.0], [1e-4]]))  # identity row, sin row
        network.output.weight.copy_(torch.tensor([[1.5, 3.0]]))
    assert "sin" in str(network.to_sympy(["x"], threshold=0.0)[0])
    prune(network, 1e-2)
    assert network.to_sympy(["x"])[0] == sympy.sympify("3*x")


def small_coefficient_fit(undo: float | None):
    """y = 0.0009 x through two weights of about 0.03: pruning at 0.05 takes the whole law away."""
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64).unsqueeze(-1)
    y = 9e-4 * x
    network = EQLNetwork(1, 1, {"identity": 1}, depth=1)
    with torch.no_grad():
        network.hidden[0].weight.fill_(0.02)
        network.output.weight.fill_(0.02)

    def objective(_batch, _regularization):
        loss = ((network(x) - y) ** 2).mean() / (y**2).mean()
        return loss, {"loss": float(loss.detach())}

    phases = [Phase(100, 1e-3), Phase(5, 1e-3, prune_threshold=0.05)]
    history = train(network, objective, lambda: [None], phases, progress=False, undo_spoiling_prune=undo)
    return network, history, x, y


def test_a_pruning_round_that_spoils_the_fit_is_undone():
    pruned, history, x, _ = small_coefficient_fit(undo=None)
    assert history.undone_prunes == [] and count_active_weights(pruned) == 0
    kept, history, x, y = small_coefficient_fit(undo=10.0)
    assert history.undone_prunes == [0.05]
    assert count_active_weights(kept) == 2
    assert torch.allclose(kept(x), y, rtol=0.05, atol=1e-6)


def test_hard_concrete_gates_are_random_in_training_and_fixed_in_eval():
    gate = HardConcreteGate((50, 4))
    first, second = gate(), gate()
    assert not torch.equal(first, second)
    assert first.min() >= 0 and first.max() <= 1
    gate.eval()
    assert torch.equal(gate(), gate())
    with torch.no_grad():
        gate.log_alpha.fill_(-10.0)
    assert (gate() == 0).all()


def test_l0_penalty_is_the_expected_number_of_open_gates_and_has_gradients():
    network = EQLNetwork(2, 1, {"identity": 2, "product": 1}, depth=1)
    assert float(weight_penalty(network, "l0")) == 0.0  # no gates, nothing to count
    attach_gates(network)
    penalty = weight_penalty(network, "l0")
    n_weights = sum(layer.weight.numel() for layer in eql_layers(network))
    assert 0.5 * n_weights < float(penalty.detach()) <= n_weights
    penalty.backward()
    assert all(layer.gate.log_alpha.grad.abs().sum() > 0 for layer in eql_layers(network))


def test_l0_training_then_pruning_folds_gates_into_exact_zeros():
    network, x, _ = fitted_network("l0", epochs=100)
    network.eval()
    expected = network(x).detach()
    deterministic = [layer.effective_weight().detach() for layer in eql_layers(network)]
    prune(network, 1e-3)
    assert all(layer.gate is None for layer in eql_layers(network))
    for layer, weight in zip(eql_layers(network), deterministic):
        kept = weight.abs() >= 1e-3
        assert torch.equal(layer.effective_weight()[kept], weight[kept])
        assert (layer.effective_weight()[~kept] == 0).all()
    assert torch.allclose(network(x), expected, atol=1e-2)
    assert count_active_weights(network) == sum(int(layer.mask.sum()) for layer in eql_layers(network))


def test_unknown_penalty_is_rejected():
    with pytest.raises(ValueError, match="unknown sparsity penalty 'l3'"):
        weight_penalty(EQLNetwork(1, 1), "l3")
