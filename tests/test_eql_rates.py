"""Library factors whose rate is read from the data (sin(w x), exp(k x)): found where the data
have one, absent where they do not, and exact end to end."""
import numpy as np
import sympy

from eqlearn import EQLRegressor
from eqlearn.eql.library_rates import rate_factors

x0, x1 = sympy.symbols("x0 x1")


def test_a_gaussian_gets_its_rate_on_the_square_of_its_input():
    x = np.random.default_rng(3).uniform(1, 3, size=(200, 1))
    assert sympy.exp(-x0**2 / 2) in rate_factors([x0], x, np.exp(-x[:, 0] ** 2 / 2) / np.sqrt(2 * np.pi))


def test_an_oscillation_gets_its_frequency_as_a_multiple_of_pi():
    x = np.arange(-1, 1.0001, 0.1)[:, None]  # 21 points, the whole span two periods
    factors = rate_factors([x0], x, 0.3 * x[:, 0] * np.sin(2 * np.pi * x[:, 0]))
    assert factors == [sympy.sin(2 * sympy.pi * x0), sympy.cos(2 * sympy.pi * x0)]


def test_a_decay_gets_its_rate_on_the_input_that_has_it():
    X = np.random.default_rng(0).uniform(-5, 5, size=(100, 2))
    factors = rate_factors([x0, x1], X, 2.14 * (1 - np.exp(-0.547 * X[:, 1])))
    assert all(factor.free_symbols == {x1} for factor in factors)
    rates = [float(factor.args[0].coeff(x1)) for factor in factors if factor.func == sympy.exp]
    assert any(abs(rate + 0.547) < 1e-6 for rate in rates), factors


def test_data_without_a_rate_get_no_factors():
    """A polynomial or a logarithm is fitted at least as well by a polynomial of as many terms:
    a slow oscillation there would only be a Taylor series in disguise."""
    x = np.random.default_rng(1).uniform(-1, 1, size=(20, 1))
    assert rate_factors([x0], x, x[:, 0] ** 3 + x[:, 0] ** 2 + x[:, 0]) == []
    positive = np.random.default_rng(2).uniform(0, 3, size=(50, 1))
    assert rate_factors([x0], positive, np.log(positive[:, 0] + 1)) == []


def test_the_regressor_returns_an_oscillation_with_a_growing_amplitude_exactly():
    x = np.arange(-2, 2.0001, 0.1)[:, None]
    model = EQLRegressor(random_state=0).fit(x, 0.3 * x[:, 0] * np.sin(2 * np.pi * x[:, 0]))
    found = sympy.nsimplify(model.sympy().subs(sympy.Symbol("x0"), x0), [sympy.pi], tolerance=1e-6, rational=True)
    assert sympy.simplify(found - sympy.Rational(3, 10) * x0 * sympy.sin(2 * sympy.pi * x0)) == 0, found


def test_a_formula_whose_terms_cancel_is_not_chosen_over_one_whose_terms_add_up():
    """4e6 x^3 - 4e6 x^3 e^(1e-7 x) is -0.4 x^4 on [0, 1], by cancellation (and explodes beside it)."""
    from eqlearn.eql.candidates import cancellation, choose

    x = np.linspace(0, 1, 50)[:, None]
    assert cancellation(4e6 * x0**3 - 4e6 * x0**3 * sympy.exp(1e-7 * x0), [x0], x) > 1e6
    assert cancellation(x0**2 + 3 * x0, [x0], x) < 2
    candidates = [{"error": 1e-9, "size": 9, "exact": False, "cancelling": True},
                  {"error": 1e-8, "size": 12, "exact": False, "cancelling": False}]
    assert choose(candidates) == 1
