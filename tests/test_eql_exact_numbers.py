"""Numbers of an exact formula are printed as exactly as the data pin them; noisy fits keep 3 digits."""
import numpy as np
import sympy

from eqlearn import EQLRegressor
from eqlearn.eql.exact_numbers import simplest_number, written_exactly
from eqlearn.symbolic import round_significant

x = sympy.Symbol("x")


def test_a_number_three_digits_write_stays_as_it_is():
    assert simplest_number(0.23, 3) == sympy.Float(0.23)
    assert simplest_number(2.0, 3) == sympy.Integer(2)
    assert simplest_number(-24.3, 3) == sympy.Float(-24.3)


def test_a_number_three_digits_cannot_write_becomes_the_fraction_it_equals():
    assert simplest_number(14.2 / 3, 3) == sympy.Rational(71, 15)
    assert simplest_number(-1 / (4 * np.pi), 3) == -1 / (4 * sympy.pi)
    assert simplest_number(2 * np.pi / 3, 3) == 2 * sympy.pi / 3


def _decimal(number: sympy.Expr, value: float) -> bool:
    """A decimal held at double precision (so sympy computes with the printed value itself)."""
    return isinstance(number, sympy.Float) and number._prec == 53 and float(number) == value


def test_a_number_no_shorter_fraction_equals_keeps_the_digits_it_needs():
    assert _decimal(simplest_number(0.5472374, 3), 0.5472374)
    # digits beyond the ninth are within the pinned precision (1e-9) and go
    assert _decimal(simplest_number(0.54723748542, 3), 0.547237485)
    # within 1e-9 only: 4.7334 is not 71/15 (4.73333...)
    assert _decimal(simplest_number(4.7334, 3), 4.7334)
    # a finite decimal stays one (not 729/50), and so does a large number (not a 24-digit integer)
    assert _decimal(simplest_number(24.3 * 3 / 5, 3), 14.58)
    assert _decimal(simplest_number(6.02214076e23, 3), 6.02214076e23)


def test_written_exactly_reaches_inside_functions():
    formula = written_exactly(sympy.Float(14.2 / 3) * sympy.exp(sympy.Float(-0.5472374) * x), 3)
    assert formula.has(sympy.Rational(71, 15)) and formula.has(sympy.Float(-0.5472374))


def _korns_like(noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """0.23 + 14.2 (x1 + x3) / (3 x2): its coefficient 14.2/3 has no 3-digit form."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 5, size=(200, 3))
    y = 0.23 + 14.2 * (X[:, 0] + X[:, 1]) / (3 * X[:, 2])
    return X, y + noise * y.std() * rng.standard_normal(len(y))


def test_an_exact_fit_prints_and_predicts_exactly():
    X, y = _korns_like(noise=0.0)
    model = EQLRegressor(random_state=0).fit(X, y)
    assert model.expression_.has(sympy.Rational(71, 15)), model.expression_
    residual = model.predict(X) - y
    assert np.mean(residual ** 2) / y.var() < 1e-20  # the 3-digit 4.73 would leave ~1e-7
    # fractions (and pi) travel through every export and a pickle
    import pickle

    import torch

    again = pickle.loads(pickle.dumps(model))
    assert again.expression_ == model.expression_ and "frac{71" in model.latex()
    np.testing.assert_allclose(model.numpy()(X), y, rtol=1e-12)
    module = model.pytorch().double()
    np.testing.assert_allclose(module(torch.as_tensor(X)).detach().numpy()[:, 0], y, rtol=1e-10)


def test_a_fraction_of_pi_travels_through_the_torch_export():
    import torch

    from eqlearn.eql.export import FormulaModule

    module = FormulaModule([x / (4 * sympy.pi) + sympy.Rational(71, 15)], [x]).double()
    np.testing.assert_allclose(module(torch.tensor([[2.0]], dtype=torch.float64)).numpy(), [[0.5 / np.pi + 71 / 15]])


def test_a_noisy_fit_keeps_three_digits():
    X, y = _korns_like(noise=1e-3)
    model = EQLRegressor(random_state=0, restarts=1, ratio_restarts=0).fit(X, y)  # the library's ratio is the fit
    # no fraction but a square root's or a power's halves, and every decimal at 3 digits (6 in a rate)
    assert all(n.q <= 2 for n in model.expression_.atoms(sympy.Rational)), model.expression_
    assert all(float(f) == round_significant(float(f), 6) for f in model.expression_.atoms(sympy.Float)), model.expression_
    assert any(float(f) != round_significant(float(f), 6) for f in _unrounded(model).atoms(sympy.Float))


def _unrounded(model: EQLRegressor) -> sympy.Expr:
    """The selected formula of `equations_` before rounding is not kept; its refit on the same
    rows at full precision stands in (the coefficients a noisy fit would print unrounded)."""
    from eqlearn.eql.selection import refit_terms

    X, y = _korns_like(noise=1e-3)
    return refit_terms(model.expression_, model._symbols(), (X[:160], y[:160]), (X[160:], y[160:]))[0]
