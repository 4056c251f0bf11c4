"""EQLRegressor: recovers real formulas, folds its scaling back into them, rejects bad input."""
import pickle

import numpy as np
import pytest
import sympy
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from eqlearn.eql.regressor import EQLRegressor
from eqlearn.errors import UserInputError
from eqlearn.symbolic import matches_up_to_constant

FAST = {"epochs": (150, 600, 300), "restarts": 4}
x, y = sympy.symbols("x y")


@pytest.fixture(scope="module")
def two_outputs():
    X = np.random.default_rng(0).uniform(-1, 1, size=(256, 2))
    Y = np.column_stack([X[:, 0] ** 2 + X[:, 1], X[:, 0] * X[:, 1]])
    model = EQLRegressor(feature_names=["x", "y"], random_state=0, **FAST).fit(X, Y)
    return model, X, Y


def test_recovers_two_formulas_at_once(two_outputs):
    model, X, Y = two_outputs
    first, second = model.sympy()
    assert matches_up_to_constant(first, x**2 + y, [x, y]) is not None, first
    assert matches_up_to_constant(second, x * y, [x, y]) is not None, second
    assert model.predict(X).shape == (256, 2)
    assert model.score(X, Y) > 0.999
    assert len(model.latex()) == 2 and "x^{2}" in model.latex()[0]


def test_predictions_extrapolate_like_the_formula(two_outputs):
    model, _, _ = two_outputs
    far = np.random.default_rng(1).uniform(-3, 3, size=(100, 2))
    truth = np.column_stack([far[:, 0] ** 2 + far[:, 1], far[:, 0] * far[:, 1]])
    assert np.abs(model.predict(far) - truth).max() < 0.1


def test_scaling_of_large_and_small_columns_is_folded_back_into_the_formula():
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.uniform(-300, 300, 200), rng.uniform(-0.05, 0.05, 200)])
    target = 0.004 * X[:, 0] ** 2 + 2000 * X[:, 1]
    model = EQLRegressor(units={"identity": 1, "square": 1}, depth=1, random_state=0, **FAST).fit(X, target)
    assert model.predict(X).shape == (200,)
    expression = model.sympy()
    x0, x1 = sympy.symbols("x0 x1")
    coefficients = sympy.Poly(expression, x0, x1).as_dict()
    assert set(coefficients) <= {(2, 0), (0, 1), (0, 0), (1, 0)}, expression
    assert float(coefficients[(2, 0)]) == pytest.approx(0.004, rel=1e-2)
    assert float(coefficients[(0, 1)]) == pytest.approx(2000, rel=1e-2)


def test_init_only_stores_settings_so_sklearn_can_clone():
    model = EQLRegressor(depth=1, penalty="l0", random_state=3)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((2, 2)))


@pytest.mark.parametrize(
    "X, target, settings, message",
    [
        (np.zeros((10, 2)), np.zeros(9), {}, "10 rows but y has 9"),
        (np.full((10, 2), np.nan), np.zeros(10), {}, "X contains NaN or infinite"),
        (np.zeros((10, 2)), np.r_[np.zeros(9), np.inf], {}, "y contains NaN or infinite"),
        (np.zeros((10, 2, 2)), np.zeros(10), {}, "X must be 2-D"),
        (np.zeros((10, 2)), np.zeros((10, 2, 1)), {}, "y must be 1-D or 2-D"),
        ([["a", "b"]], [1.0], {}, "X must be numeric"),
        (np.zeros((10, 2)), np.zeros(10), {"units": {"sine": 2}}, "unknown EQL unit 'sine'"),
        (np.zeros((10, 2)), np.zeros(10), {"penalty": "l3"}, "unknown penalty 'l3'"),
        (np.zeros((10, 2)), np.arange(10.0), {"feature_names": ["a"]}, "1 feature names given for 2 columns"),
        (np.zeros((10, 2)), np.full(10, 3.0), {}, "y is constant"),
        (np.zeros((5, 2)), np.arange(5.0), {}, "got 5 sample"),
        (np.zeros((10, 2)), None, {}, "requires y to be passed"),
    ],
)
def test_bad_input_is_a_clear_user_error(X, target, settings, message):
    with pytest.raises(UserInputError, match=message):
        EQLRegressor(**settings).fit(X, target)


def test_predict_checks_the_number_of_features(two_outputs):
    model, _, _ = two_outputs
    with pytest.raises(UserInputError, match="3 features, but EQLRegressor is expecting 2"):
        model.predict(np.zeros((4, 3)))


def test_physical_ranges_give_the_exact_power_law_in_the_original_units():
    """Inputs on U(1, 5) and targets in the thousands: the monomial units read the logarithms."""
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 5, size=(300, 3))
    target = 250 * X[:, 0] * X[:, 1] ** 2 / X[:, 2]
    model = EQLRegressor(feature_names=["m", "v", "r"], random_state=0, **FAST).fit(X, target)
    m, v, r = sympy.symbols("m v r")
    assert matches_up_to_constant(model.sympy(), m * v**2 / r, [m, v, r]) == "ratio", model.sympy()
    assert model.score(X, target) > 0.9999


@pytest.mark.parametrize("depth", [1, 3])
def test_depth_is_honoured_with_the_positive_input_units(depth):
    """A strictly positive column picks the monomial units; `depth` still sets the hidden layers."""
    X = np.random.default_rng(6).uniform(1, 5, size=(60, 2))
    target = np.sin(X[:, 0]) + X[:, 1]  # no power law or library formula is exact: networks train
    model = EQLRegressor(depth=depth, random_state=0, power_law=False, library=False,
                         epochs=(10, 10, 10), restarts=2, ratio_restarts=0).fit(X, target)
    assert len(model.units_) == depth and "monomial" in model.units_[0]
    assert len(model.network_.hidden) == depth


def test_an_exact_cheap_candidate_ends_the_fit_before_any_network_trains():
    X = np.random.default_rng(7).uniform(1, 5, size=(100, 3))
    model = EQLRegressor(random_state=0).fit(X, 2 * X[:, 0] * X[:, 1] ** 2 / X[:, 2])
    assert model.restart_errors_ == [] and model.network_ is None
    assert str(model.sympy()) == "2*x0*x1**2/x2"


def test_small_samples_are_scored_by_cross_validation():
    """20 points: five folds score every candidate, and the exact polynomial wins."""
    X = np.random.default_rng(8).uniform(-1, 1, size=(20, 1))
    target = X[:, 0] ** 3 + X[:, 0] ** 2 + X[:, 0]
    model = EQLRegressor(random_state=0, **FAST).fit(X, target)
    x0 = sympy.Symbol("x0")
    assert sympy.expand(model.sympy() - (x0**3 + x0**2 + x0)) == 0, model.sympy()


@pytest.mark.parametrize("formula, low, high", [
    (lambda x: np.sin(x[:, 0]) * np.sin(x[:, 1]), [-1, -1], [1, 1]),  # a product of factors of different inputs
    (lambda x: np.log(x[:, 0]) + np.sin(x[:, 1]), [1, -1], [3, 1]),   # a sum whose sin a Taylor series mimics
])
def test_twenty_points_give_the_exact_function_of_two_factors(formula, low, high):
    """On 20 rows a factor's long forward run interpolates, so pairs of factors are also ranked
    by what a few of their terms explain: the exact formula, not a Taylor series of one factor."""
    X = np.random.default_rng(11).uniform(low, high, size=(20, 2))
    model = EQLRegressor(random_state=0, **FAST).fit(X, formula(X))
    fresh = np.random.default_rng(12).uniform(low, high, size=(200, 2))
    assert np.allclose(model.predict(fresh), formula(fresh), rtol=1e-9, atol=1e-9), model.sympy()


def test_an_exact_candidate_beats_a_shorter_close_approximation():
    """x + x^3/6 misses sinh x by 1e-6 on [-1, 1], within the noise tolerance; the exact sum of
    exponentials reproduces the held-out rows to rounding and is chosen though it is longer."""
    X = np.random.default_rng(13).uniform(-1, 1, size=(20, 1))
    model = EQLRegressor(random_state=0, **FAST).fit(X, np.sinh(X[:, 0]))
    x0 = sympy.Symbol("x0")
    assert abs(float((model.sympy() - sympy.sinh(x0)).subs(x0, 2.5))) < 1e-9, model.sympy()


def test_a_power_law_holds_where_an_input_is_zero():
    """sqrt(x) sampled from x = 0: the log-space fit reads the positive rows, the refit all."""
    X = np.column_stack([np.arange(0.0, 40.0), np.random.default_rng(14).uniform(1, 2, 40)])
    model = EQLRegressor(random_state=0, **FAST).fit(X, 2 * np.sqrt(X[:, 0]) * X[:, 1])
    assert model.network_ is None and model.equations_["source"][model.equations_["selected"]].item() == "power law"
    assert np.allclose(model.predict(X), 2 * np.sqrt(X[:, 0]) * X[:, 1], rtol=1e-12, atol=1e-12)


def test_inputs_of_both_signs_and_a_wide_range():
    X = np.random.default_rng(4).uniform(-10, 10, size=(300, 2))
    target = 3 * X[:, 0] - X[:, 1] ** 2
    model = EQLRegressor(random_state=0, **FAST).fit(X, target)
    x0, x1 = sympy.symbols("x0 x1")
    assert matches_up_to_constant(model.sympy(), 3 * x0 - x1**2, [x0, x1]) is not None, model.sympy()


@pytest.fixture(scope="module")
def fitted_on_a_frame():
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    frame = pandas.DataFrame({"mass": rng.uniform(1, 5, 200), "speed": rng.uniform(1, 5, 200)})
    target = frame["mass"] * frame["speed"] ** 2 / 2
    return EQLRegressor(random_state=0, **FAST).fit(frame, target), frame, target


def test_feature_names_come_from_the_data_frame(fitted_on_a_frame):
    model, frame, _ = fitted_on_a_frame
    mass, speed = sympy.symbols("mass speed")
    assert model.sympy().free_symbols == {mass, speed}
    assert list(model.feature_names_in_) == ["mass", "speed"]
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame.rename(columns={"mass": "m"}))
    with pytest.raises(UserInputError, match="do not match the DataFrame's columns"):
        EQLRegressor(feature_names=["a", "b"], **FAST).fit(frame, frame["mass"])


def test_exports_compute_the_printed_formula(fitted_on_a_frame):
    model, frame, target = fitted_on_a_frame
    X = frame.to_numpy()
    expected = sympy.lambdify(sympy.symbols("mass speed"), model.sympy())(*X.T)
    np.testing.assert_allclose(model.predict(frame), expected, rtol=1e-12)
    np.testing.assert_allclose(model.numpy()(X), expected, rtol=1e-12)
    module = model.pytorch()
    assert isinstance(module, torch.nn.Module)
    computed = module(torch.as_tensor(X)).numpy()
    assert computed.shape == (len(X), 1)
    np.testing.assert_allclose(computed[:, 0], expected, rtol=1e-10)
    assert "mass" in model.latex() and model.latex() == sympy.latex(model.sympy())


def test_equations_table_is_a_pareto_front_holding_the_chosen_formula(fitted_on_a_frame):
    model, _, _ = fitted_on_a_frame
    table = model.equations_
    assert {"size", "error", "equation", "sympy", "selected"} <= set(table.columns)
    assert list(table["size"]) == sorted(table["size"])
    assert table["selected"].sum() == 1
    chosen = table.index[table["selected"]][0]
    assert model.sympy(chosen) == model.sympy()
    errors = list(table["error"])
    assert all(b < a for a, b in zip(errors, errors[1:]) if b != errors[chosen])


def test_a_fitted_model_pickles_with_its_exports(fitted_on_a_frame):
    model, frame, _ = fitted_on_a_frame
    restored = pickle.loads(pickle.dumps(model))
    assert restored.sympy() == model.sympy()
    np.testing.assert_array_equal(restored.predict(frame), model.predict(frame))
    module = pickle.loads(pickle.dumps(model.pytorch()))
    x = torch.as_tensor(frame.to_numpy()[:5])
    torch.testing.assert_close(module(x), model.pytorch()(x))


#: scikit-learn's checks that this estimator fails by design.
EXPECTED_FAILED_CHECKS = {
    # every bad input is a UserInputError (a ValueError, which the CLI reports in one line with
    # exit status 2); sklearn wants a TypeError for an object array holding a dict
    "check_dtype_object": "non-numeric X is a UserInputError (ValueError), not a TypeError",
}


@parametrize_with_checks(
    [EQLRegressor(units={"identity": 2, "product": 1}, depth=1, epochs=(10, 10, 10), restarts=1, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_importable_from_the_package():
    import eqlearn

    assert eqlearn.EQLRegressor is EQLRegressor
