"""Every unit: the trained network and its printed formula compute the same numbers."""
import numpy as np
import pytest
import sympy
import torch

from eqlearn.eql.network import DEFAULT_UNITS, EQLNetwork
from eqlearn.eql.units import DIVISION_THRESHOLD, UNITS, get_unit
from eqlearn.errors import UserInputError

NAMES = ["a", "b"]


def read_out_values(network: EQLNetwork, inputs: np.ndarray) -> np.ndarray:
    expressions = network.to_sympy(NAMES, threshold=0.0, digits=15)
    functions = [sympy.lambdify(sympy.symbols(NAMES), e, "numpy") for e in expressions]
    return np.column_stack([np.broadcast_to(f(*inputs.T), len(inputs)) for f in functions])


@pytest.mark.parametrize("name", sorted(UNITS))
def test_network_and_read_out_agree_for_every_unit(name):
    torch.manual_seed(0)
    network = EQLNetwork(2, 2, {name: 2}, depth=1).double()
    inputs = np.random.default_rng(0).uniform(0.5, 1.5, size=(200, 2))
    if name in ("division", "sqrt", "log"):  # keep every argument inside the unguarded domain
        with torch.no_grad():
            network.hidden[0].weight.abs_().add_(0.1)
        assert (inputs @ network.hidden[0].weight.detach().numpy().T).min() > 100 * DIVISION_THRESHOLD
    expected = network(torch.as_tensor(inputs)).detach().numpy()
    np.testing.assert_allclose(read_out_values(network, inputs), expected, rtol=1e-5, atol=1e-5)


def test_deep_network_with_every_default_unit_and_read_out_agree():
    torch.manual_seed(1)
    network = EQLNetwork(2, 2, {name: 1 for name in DEFAULT_UNITS}, depth=2).double()
    inputs = np.random.default_rng(1).uniform(-1, 1, size=(200, 2))
    expected = network(torch.as_tensor(inputs)).detach().numpy()
    np.testing.assert_allclose(read_out_values(network, inputs), expected, rtol=1e-5, atol=1e-5)


def test_network_accepts_any_leading_shape():
    network = EQLNetwork(2, 1)
    assert network(torch.zeros(4, 5, 2)).shape == (4, 5, 1)


def test_unknown_unit_name_is_a_clear_user_error():
    with pytest.raises(UserInputError, match="unknown EQL unit 'tanhh'.*identity"):
        get_unit("tanhh")
    with pytest.raises(UserInputError, match="tanhh"):
        EQLNetwork(2, 1, {"tanhh": 2})
