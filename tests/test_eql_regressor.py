"""EQLRegressor: recovers real formulas, folds its scaling back into them, rejects bad input."""
import numpy as np
import pytest
import sympy
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

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
        (np.zeros((10, 2)), np.zeros(10), {"feature_names": ["a"]}, "1 feature names given for 2 columns"),
    ],
)
def test_bad_input_is_a_clear_user_error(X, target, settings, message):
    with pytest.raises(UserInputError, match=message):
        EQLRegressor(**settings).fit(X, target)


def test_predict_checks_the_number_of_features(two_outputs):
    model, _, _ = two_outputs
    with pytest.raises(UserInputError, match="3 features but the model was fitted on 2"):
        model.predict(np.zeros((4, 3)))
