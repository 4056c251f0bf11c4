"""Restarts trained side by side: each stacked copy is an independent EQL network."""
import torch

from eqlearn.eql.restarts import extract_copy, parallel_copies

UNITS = [{"constant": 1, "identity": 2, "monomial": 2, "sin": 1}, {"identity": 2, "product": 1, "division": 1}]


def test_each_extracted_copy_computes_its_slice_of_the_stacked_output():
    torch.manual_seed(0)
    network = parallel_copies(4, 2, 5, UNITS, init_scales=[0.5, 0.8, 1.0, 1.5, 2.0])
    network.hidden[0].restrict_inputs({"monomial": [False, False, True, True]})
    x = torch.rand(64, 4)
    stacked = network(x).double()
    for copy in range(5):
        single = extract_copy(network, copy)(x).double()
        torch.testing.assert_close(single, stacked[:, 2 * copy:2 * copy + 2], rtol=1e-4, atol=1e-5)
        assert (single.new_tensor(extract_copy(network, copy).hidden[0].mask[2:4, :2]) == 0).all()


def test_copies_share_no_weight():
    torch.manual_seed(1)
    network = parallel_copies(3, 1, 4, UNITS)
    network(torch.rand(16, 3))[:, 2].sum().backward()
    for layer in network.layers:
        touched = layer.weight.grad.abs().flatten(1).sum(dim=1) > 0
        assert touched.tolist() == [False, False, True, False]
