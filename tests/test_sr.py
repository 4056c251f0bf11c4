"""Symbolic regression interface: recovery of a known law, the Pareto front, input errors."""
import subprocess
import sys

import numpy as np
import pytest
import sympy

from eqlearn.errors import UserInputError
from eqlearn.sr import SymbolicFit, fit_symbolic, plot_pareto_front
from eqlearn.symbolic import to_string

SMALL_RUN = dict(generations=20, population_size=200, random_state=0)
x, r = sympy.symbols("x r")


def spring_like(rng, n, noise=0.0):
    """Points of x*(1 - 1/r), the spring message of DESIGN.md in one axis."""
    X = np.column_stack([rng.normal(size=n), rng.uniform(0.5, 3.0, size=n)])
    y = X[:, 0] * (1 - 1 / X[:, 1])
    return X, y + noise * np.std(y) * rng.normal(size=n)


def evaluate(expression, X):
    return np.broadcast_to(sympy.lambdify([x, r], expression, "numpy")(X[:, 0], X[:, 1]), len(X))


@pytest.fixture(scope="module")
def exact_fit(sr_engine) -> SymbolicFit:
    X, y = spring_like(np.random.default_rng(0), 1000)
    return fit_symbolic(X, y, ["x", "r"], **SMALL_RUN)


def test_recovers_spring_message_exactly(exact_fit):
    assert exact_fit.engine == "pyoperon"
    assert exact_fit.expression.free_symbols == {x, r}
    # fresh points, partly outside the training range: only the exact law matches this well
    rng = np.random.default_rng(1)
    X = np.column_stack([3 * rng.normal(size=500), rng.uniform(0.2, 6.0, size=500)])
    truth = X[:, 0] * (1 - 1 / X[:, 1])
    assert np.max(np.abs(evaluate(exact_fit.expression, X) - truth)) < 1e-9 * np.max(np.abs(truth))
    assert exact_fit.r2 > 1 - 1e-12
    assert exact_fit.seconds > 0


def test_expression_parses_back_with_only_the_variable_names(exact_fit):
    for _, _, expression in exact_fit.pareto_front:
        parsed = sympy.sympify(to_string(expression))
        assert parsed == expression
        assert parsed.free_symbols <= {x, r}


def test_pareto_front_is_non_empty_and_monotone(exact_fit):
    complexity, loss, _ = zip(*exact_fit.pareto_front)
    assert len(complexity) >= 2
    assert all(np.diff(complexity) > 0)
    assert all(np.diff(loss) < 0)
    assert exact_fit.expression in [point[2] for point in exact_fit.pareto_front]


@pytest.mark.usefixtures("sr_engine")
def test_noisy_data_picks_the_simplest_good_formula_not_the_most_complex():
    X, y = spring_like(np.random.default_rng(2), 1000, noise=0.01)
    fit = fit_symbolic(X, y, ["x", "r"], **SMALL_RUN)
    best_loss = fit.pareto_front[-1][1]
    chosen = next(p for p in fit.pareto_front if p[2] == fit.expression)
    assert chosen[1] <= 1.5 * best_loss
    assert all(p[1] > 1.5 * best_loss for p in fit.pareto_front if p[0] < chosen[0])
    assert chosen[0] < fit.pareto_front[-1][0]  # extra terms that only fit the noise are left out
    assert fit.r2 > 0.999


def test_plot_writes_png(exact_fit, tmp_path):
    path = plot_pareto_front(exact_fit, tmp_path / "front.png", "x (1 - 1/r)")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


GOOD_X = np.column_stack([np.arange(5.0), np.arange(5.0) ** 2])
GOOD_Y = np.arange(5.0)


@pytest.mark.parametrize(
    "X, y, names, message",
    [
        (GOOD_Y, GOOD_Y, ["a"], "2-D"),
        (GOOD_X, GOOD_X, ["a", "b"], "1-D"),
        (GOOD_X, GOOD_Y[:4], ["a", "b"], "5 samples but y has 4"),
        (np.where(GOOD_X == 4.0, np.nan, GOOD_X), GOOD_Y, ["a", "b"], "X has 2 non-finite"),
        (GOOD_X, np.where(GOOD_Y == 1.0, np.inf, GOOD_Y), ["a", "b"], "y has 1 non-finite"),
        (GOOD_X, np.ones(5), ["a", "b"], "constant"),
        (GOOD_X, GOOD_Y, ["a"], "1 variable names for 2 columns"),
        (GOOD_X, GOOD_Y, ["a", "a"], "distinct"),
        (GOOD_X, GOOD_Y, ["a", "E"], "'E' is not usable"),
        (GOOD_X, GOOD_Y, ["a", "m 1"], "'m 1' is not usable"),
    ],
)
def test_bad_input_is_a_user_input_error(X, y, names, message):
    with pytest.raises(UserInputError, match=message):
        fit_symbolic(X, y, names)


def test_unknown_engine_is_a_user_input_error():
    with pytest.raises(UserInputError, match="unknown engine 'eureqa'"):
        fit_symbolic(GOOD_X, GOOD_Y, ["a", "b"], engine="eureqa")


WITHOUT_ENGINES = ("pyoperon", "pyoperon.sklearn", "gplearn", "gplearn.genetic")


def test_without_any_engine_the_error_says_what_to_install(monkeypatch):
    for name in WITHOUT_ENGINES:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(UserInputError, match=r'pyoperon or gplearn: pip install "eqlearn\[sr\]"'):
        fit_symbolic(GOOD_X, GOOD_Y, ["a", "b"])
    for engine in ("pyoperon", "gplearn"):
        with pytest.raises(UserInputError, match=rf"'{engine}' is not installed: pip install \"eqlearn\[sr\]\""):
            fit_symbolic(GOOD_X, GOOD_Y, ["a", "b"], engine=engine)


def test_every_module_and_the_cli_import_without_an_engine():
    """The engines are an optional extra: only a fit may need them, never an import."""
    blocked = ", ".join(f"{name!r}: None" for name in WITHOUT_ENGINES)
    script = (f"import sys; sys.modules.update({{{blocked}}}); import importlib, pkgutil, eqlearn; "
              "skip = {'eqlearn.__main__', 'eqlearn.gnn.pyg'}; "  # runs the CLI; needs another extra
              "[importlib.import_module(m.name) for m in pkgutil.walk_packages(eqlearn.__path__, 'eqlearn.') if m.name not in skip]; "
              "from eqlearn.cli import main; main(['--help'])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout


def test_a_baseline_run_without_an_engine_stops_before_training(monkeypatch, tmp_path, capsys):
    from eqlearn.cli import main

    for name in WITHOUT_ENGINES:
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "run"
    assert main(["discover", "--edge-model", "mlp", "--n", "3", "--sims", "20", "--quiet", "--out", str(out)]) == 2
    assert 'eqlearn[sr]' in capsys.readouterr().err and not out.exists()
