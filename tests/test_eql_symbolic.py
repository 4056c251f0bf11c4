"""Read-out clean-up and the exact-recovery check used by the benchmark."""
import sympy

from eqlearn.symbolic import clean_expression, matches_up_to_constant, snap_numbers, to_latex, to_string

x, y, z = sympy.symbols("x y z")


def test_clean_expression_rounds_merges_and_drops():
    raw = 0.5 * sympy.sin(6.2811 * x) + 0.5 * sympy.sin(6.2832 * x) + 0.004 * y + 1.0002 * x**2.0001
    assert clean_expression(raw) == x**2 + sympy.sin(sympy.Float(6.28) * x)


def test_clean_expression_merges_exponentials_and_keeps_a_sum():
    assert clean_expression(2.0 * sympy.exp(0.5 * x) * sympy.exp(0.5 * y)) == 2 * sympy.exp(0.5 * x + 0.5 * y)
    assert clean_expression((1.0 * x + 0.5) * (2.0 * y)) == 2 * x * y + y


def test_string_form_parses_back_and_latex_is_latex():
    expr = clean_expression(0.5 * x * y + 1 / (1 + sympy.exp(-10.0 * z)))
    assert sympy.sympify(to_string(expr)) == expr
    assert to_latex(expr) == r"0.5 x y + \frac{1}{1 + e^{- 10 z}}"


def test_snap_numbers_finds_simple_rationals_and_multiples_of_pi():
    assert snap_numbers(sympy.sympify("6.28*x + 0.333*y - 2.0")) == 2 * sympy.pi * x + y / 3 - 2
    assert snap_numbers(sympy.sympify("0.3141*x")) == sympy.pi * x / 10
    assert snap_numbers(sympy.sympify("0.123*x")) == sympy.sympify("0.123*x")


def test_exact_recovery_allows_a_constant_offset_or_factor_and_nothing_else():
    truth = x * y / 2 + z / 2
    symbols = [x, y, z]
    assert matches_up_to_constant(sympy.sympify("0.499*x*y + 0.5*z + 0.1"), truth, symbols) == "difference"
    assert matches_up_to_constant(sympy.sympify("1.5*x*y + 1.5*z"), truth, symbols) == "ratio"
    assert matches_up_to_constant(sympy.sympify("0.5*x*y + 0.5*z + 0.01*x"), truth, symbols) is None
    assert matches_up_to_constant(sympy.sympify("0.48*x*y + 0.5*z"), truth, symbols) is None
    assert matches_up_to_constant(sympy.Integer(0), truth, symbols) is None
    assert matches_up_to_constant(sympy.sympify("exp(-1.0*x**2 + 0.3)"), sympy.exp(-(x**2)), [x]) == "ratio"
