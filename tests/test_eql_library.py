"""Library candidates: enumerated monomials (times sin, cos, log), forward regression, ratios."""
import numpy as np
import sympy

from eqlearn.eql.library import (
    Library,
    count_monomials,
    fit_library,
    forward_regression,
    largest_degree,
    monomial_exponents,
)
from eqlearn.eql.library_ratio import fit_library_ratio

x0, x1, x2 = sympy.symbols("x0 x1 x2")


def _split(X, y):
    return (X[:240], y[:240]), (X[240:], y[240:])


def test_exponents_are_bounded_and_negative_only_on_signed_columns():
    exponents = monomial_exponents(np.array([True, False]), degree=2)
    assert (np.abs(exponents).sum(axis=1) <= 2).all()
    assert (exponents[:, 1] >= 0).all() and (exponents[:, 0] < 0).any()
    assert (exponents[0] == 0).all()  # the constant comes first
    # 1 + 3 (x0, 1/x0, x1) + degree 2: x0^2, x0^-2, x1^2, x0 x1, x1 / x0
    assert len(exponents) == 9


def test_degree_is_lowered_until_the_library_fits():
    signed = np.ones(10, dtype=bool)
    assert largest_degree(signed, 1, 8_000) == 3  # 8,361 monomials of degree <= 4 in 10 signed columns
    assert largest_degree(signed, 31, 8_000) == 2
    assert largest_degree(signed, 1, 0) == 0
    for columns in ([True, False], [False, False, True, True], [True] * 5):
        for degree in range(5):
            count = len(monomial_exponents(np.array(columns), degree))
            assert count == count_monomials(sum(columns), len(columns) - sum(columns), degree)


def test_library_monomials_and_factors_match_their_columns():
    X = np.random.default_rng(0).uniform(1, 3, size=(20, 2))
    library = Library(X, [x0, x1], degree=2)
    columns = library.monomial_columns(X)
    assert columns.shape == (20, len(library.monomials))
    assert library.factors[:7] == [1, sympy.sin(x0), sympy.cos(x0), sympy.log(x0), sympy.sin(x1), sympy.cos(x1), sympy.log(x1)]
    assert {sympy.sin(x0 * x1), sympy.exp(-x1**2), sympy.log(x0 * x1 + 1), x0**x1} <= set(library.factors)
    for k in (0, 4, len(library.monomials) - 1):
        values = sympy.lambdify([x0, x1], library.monomials[k], "numpy")(X[:, 0], X[:, 1])
        np.testing.assert_allclose(columns[:, k], np.broadcast_to(values, (20,)))
    np.testing.assert_allclose(library.factor_values(X, 6), np.log(X[:, 1]))
    np.testing.assert_allclose(library.factor_values(X, library.factors.index(x0**x1)), X[:, 0] ** X[:, 1])


def test_forward_regression_finds_the_support_among_correlated_columns():
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 5, size=200)
    columns = np.column_stack([x**k for k in range(6)])  # strongly correlated on U(1, 5)
    chosen = forward_regression(columns, 2 * x**4 - 3 * x, steps=6)
    assert set(chosen[:2]) == {1, 4}
    assert len(chosen) == len(set(chosen))


def test_a_sum_of_three_monomials_comes_back_exactly():
    X = np.random.default_rng(2).uniform(1, 5, size=(300, 3))
    y = X[:, 0] * (X[:, 1] ** 2 + X[:, 2] ** 2) / 2 + 3 * X[:, 2] * np.sin(X[:, 0])
    fits = fit_library([x0, x1, x2], *_split(X, y))
    formula, error = min(fits, key=lambda f: f[1])
    assert error < 1e-20
    truth = x0 * (x1**2 + x2**2) / 2 + 3 * x2 * sympy.sin(x0)
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True) - truth) == 0


def test_a_ratio_with_a_one_term_denominator_comes_back_exactly():
    X = np.random.default_rng(3).uniform(1, 5, size=(300, 3))
    y = (X[:, 0] + X[:, 1]) / (1 + X[:, 0] * X[:, 1] / X[:, 2] ** 2)
    fits = fit_library_ratio([x0, x1, x2], *_split(X, y))
    formula, error = min(fits, key=lambda f: f[1])
    assert error < 1e-20
    truth = (x0 + x1) / (1 + x0 * x1 / x2**2)
    exact = sympy.nsimplify(formula, tolerance=1e-8, rational=True)
    assert sympy.simplify(exact - truth) == 0


def test_with_many_inputs_the_factor_runs_keep_the_one_the_data_need(monkeypatch):
    import eqlearn.eql.library as library_module

    monkeypatch.setattr(library_module, "MAX_FACTOR_RUNS", 1)  # 3 inputs: 9 factors, one run
    X = np.random.default_rng(4).uniform(1, 5, size=(300, 3))
    y = X[:, 0] * X[:, 1] + 2 * X[:, 0] * np.cos(X[:, 2])
    formula, error = min(fit_library([x0, x1, x2], *_split(X, y)), key=lambda f: f[1])
    assert error < 1e-20
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True)
                          - (x0 * x1 + 2 * x0 * sympy.cos(x2))) == 0


def test_a_column_of_both_signs_gets_the_protected_log_and_square_root():
    """log x and sqrt x are undefined on x < 0; log|x| and sqrt|x| are library factors there."""
    X = np.random.default_rng(6).uniform(-20, 20, size=(100, 3))
    y = 0.5 * np.sqrt(np.abs(X[:, 1])) - 2 * X[:, 0] + 1.5 * np.log(np.abs(X[:, 2]))
    assert {sympy.sqrt(sympy.Abs(x1)), sympy.log(sympy.Abs(x2))} <= set(Library(X, [x0, x1, x2]).factors)
    formula, error = min(fit_library([x0, x1, x2], (X[:80], y[:80]), (X[80:], y[80:])), key=lambda f: f[1])
    assert error < 1e-20, formula


def test_a_denominator_without_a_constant_on_inputs_that_cross_zero():
    """x^2 y^2 / (x + y) and x^3 / y^2 with x, y of both signs: no 1 + d m denominator and no
    negative powers in the library (a column through 0), so b + d m and N / b with b a monomial."""
    X = np.random.default_rng(7).uniform(-1, 1, size=(60, 2))
    for truth in (x0**2 * x1**2 / (x0 + x1), 2 * x0**3 / x1**2 + x0):
        y = np.asarray(sympy.lambdify([x0, x1], truth, "numpy")(*X.T), dtype=float)
        formula, error = min(fit_library_ratio([x0, x1], (X[:48], y[:48]), (X[48:], y[48:])), key=lambda f: f[1])
        assert error < 1e-20, formula
        assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True) - truth) == 0, formula


def test_a_denominator_of_a_constant_and_two_monomials_comes_back_exactly():
    """8 / (2 + x^2 + y^2): a second pole beside the best single one."""
    X = np.random.default_rng(8).uniform(-3, 3, size=(40, 2))
    y = 8 / (2 + X[:, 0] ** 2 + X[:, 1] ** 2)
    formula, error = min(fit_library_ratio([x0, x1], (X[:32], y[:32]), (X[32:], y[32:])), key=lambda f: f[1])
    assert error < 1e-20, formula
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True) - 8 / (2 + x0**2 + x1**2)) == 0


def test_pruning_an_exact_fit_keeps_it_exact():
    """On 20 exact rows, dropping sin x from x^3 + x^2 + x + sin x + sin y^2 leaves 1e-8 (x + sin x
    is nearly 2x - x^3/6 there), inside the 1e-6 noise floor; an exact fit must stay exact."""
    from eqlearn.eql.selection import refit_terms

    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    truth = x0**3 + x0**2 + x0 + sympy.sin(x0) + sympy.sin(x1**2)
    y = np.asarray(sympy.lambdify([x0, x1], truth, "numpy")(*X.T), dtype=float)
    shape = truth + x0**5 + x0**7 + x1**2 + 1
    formula, error = refit_terms(shape, [x0, x1], (X[:16], y[:16]), (X[16:], y[16:]))
    assert error < 1e-20
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True) - truth) == 0, formula


def test_a_taylor_tail_gives_way_to_the_function_it_approximates():
    """A degree-9 polynomial in x beside sin y^2 reproduces x^3 + x^2 + x + sin x + sin y^2 on 20
    rows to ~1e-22; with sin x tried beside its terms, the law's five terms are what is left."""
    from eqlearn.eql.library_tails import shortened
    from eqlearn.eql.selection import refit_terms

    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    truth = x0**3 + x0**2 + x0 + sympy.sin(x0) + sympy.sin(x1**2)
    y = np.asarray(sympy.lambdify([x0, x1], truth, "numpy")(*X.T), dtype=float)
    train, valid = (X[:16], y[:16]), (X[16:], y[16:])
    tail, error = refit_terms(x0 + x0**2 + x0**3 + x0**5 + x0**7 + x0**9 + sympy.sin(x1**2), [x0, x1], train, valid)
    assert 1e-26 < error < 1e-12 and not tail.has(sympy.sin(x0))  # close, and still a polynomial in x
    shorter = shortened(tail, error, Library(train[0], [x0, x1]), [x0, x1], train, valid)
    assert shorter, "no factor shortened the tail"
    formula, shorter_error = min(shorter, key=lambda f: len(sympy.Add.make_args(f[0])))
    assert shorter_error < error
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True) - truth) == 0, formula


def test_a_function_of_a_cube_times_a_function_of_a_square_on_twenty_points():
    X = np.random.default_rng(3).uniform(-1, 1, size=(20, 1))
    y = np.sin(X[:, 0] ** 3) * np.cos(X[:, 0] ** 2) - 1
    formula, error = min(fit_library([x0], (X[:16], y[:16]), (X[16:], y[16:])), key=lambda f: f[1])
    assert error < 1e-20, formula
    assert sympy.simplify(sympy.nsimplify(formula, tolerance=1e-8, rational=True)
                          - (sympy.sin(x0**3) * sympy.cos(x0**2) - 1)) == 0, formula
