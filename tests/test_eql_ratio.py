"""Ratio restarts: N / D trained without dividing, refitted term by term on y D = N."""
import numpy as np
import pytest
import sympy
import torch

from eqlearn.eql.network import EQLNetwork
from eqlearn.eql.ratio import RatioNetwork, ratio_residual, refit_ratio
from eqlearn.eql.restarts import keep_outputs
from eqlearn.symbolic import matches_up_to_constant

x0, x1 = sympy.symbols("x0 x1")


def _rows(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(seed).uniform(1, 5, size=(n, 2))
    return X, X[:, 0] / (1 + X[:, 1])


def test_residual_is_zero_for_the_exact_ratio_and_one_for_the_best_constant():
    X, y = (torch.as_tensor(a) for a in _rows(0))
    numerator, denominator = X[:, :1], 1 + X[:, 1:]
    targets = y[:, None]
    assert float(ratio_residual(numerator, denominator, targets)) < 1e-24
    assert float(ratio_residual(targets.mean() * denominator, denominator, targets)) == pytest.approx(1.0)
    # D's scale divides out: 10 N / 10 D is the same ratio and the same error
    wrong = X[:, :1] ** 2
    assert float(ratio_residual(10 * wrong, 10 * denominator, targets)) == pytest.approx(
        float(ratio_residual(wrong, denominator, targets)))


def test_refit_makes_a_nearly_right_ratio_exact_and_drops_the_spare_term():
    X, y = _rows(1)
    train, valid = (X[:300], y[:300]), (X[300:], y[300:])
    rough = (0.93 * x0 + 0.02 * x1, 1.1 + 0.97 * x1)
    formula, error = refit_ratio(rough, [x0, x1], train, valid)
    assert error < 1e-20
    assert matches_up_to_constant(formula, x0 / (1 + x1), [x0, x1]) is not None, formula
    assert formula.count(x1) == 1, formula  # the spare x1 of the numerator is gone


def test_refit_declines_what_is_not_a_ratio_of_terms():
    X, y = _rows(2)
    formula, error = refit_ratio((x0, sympy.Integer(0)), [x0, x1], (X, y), (X, y))
    assert error == float("inf")


def test_ratio_network_prints_what_it_computes():
    torch.manual_seed(0)
    network = RatioNetwork(EQLNetwork(2, 2, {"constant": 1, "identity": 2, "product": 1}, depth=1))
    with torch.no_grad():
        network.network.output.weight.abs_()  # a denominator of one sign on positive inputs
        network.network.hidden[0].weight.abs_()
    X = torch.as_tensor(_rows(3)[0], dtype=torch.float32)
    (formula,) = network.to_sympy([x0, x1], threshold=0, digits=15)
    printed = sympy.lambdify([x0, x1], formula, "numpy")(*X.double().numpy().T)
    np.testing.assert_allclose(printed, network(X)[:, 0].detach().numpy(), rtol=1e-4)


def test_keep_outputs_keeps_the_first_heads_unchanged():
    torch.manual_seed(1)
    network = EQLNetwork(3, 4, {"identity": 2, "sin": 2}, depth=2)
    X = torch.randn(20, 3)
    kept = keep_outputs(network, 2)
    assert kept.out_features == 2
    torch.testing.assert_close(kept(X), network(X)[:, :2])
