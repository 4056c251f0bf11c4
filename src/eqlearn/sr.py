"""Symbolic regression of arrays: the baseline pipeline fits a formula to each top GNN message.

One call, `fit_symbolic`, hides the engine (pyoperon by default, gplearn as a fallback; both come
with `pip install "eqlearn[sr]"` and are imported only when a fit runs). The engine only proposes
candidate formulas; tidying, scoring, the Pareto front and the final choice happen here, so every
engine's result means the same thing.
"""
from __future__ import annotations

import importlib
import keyword
import operator
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import sympy

from eqlearn.errors import UserInputError
from eqlearn.symbolic import clean_expression, to_string
from eqlearn.vocabulary.formula import CONSTANTS, FUNCTIONS, parse_formula

# pyoperon's default (0) never tunes constants, so exact laws are rarely found; a few
# Levenberg-Marquardt steps per candidate fix that at a modest cost.
_CONSTANT_FIT_ITERATIONS = 3
# Decimals in pyoperon's printed model; sympy rounds to significant digits afterwards.
_PRINT_DECIMALS = 15
# Losses below this fraction of var(y) count as an exact fit when choosing from the front.
_EXACT_LOSS = 1e-12
# A longer chosen formula would squeeze the plot to nothing; it is cut short in the legend.
_LEGEND_CHARS = 60
# Both engines are an optional extra, so that eqlearn installs where they do not build.
_INSTALL = 'pip install "eqlearn[sr]"'


@dataclass(frozen=True)
class SymbolicFit:
    """A fitted formula and the trade-off it was chosen from.

    `pareto_front` holds (complexity, loss, expression), simplest first, loss strictly falling:
    complexity counts the nodes of the sympy expression tree, loss is the mean squared error on
    the training data of the expression exactly as stored. `r2` is the chosen expression's on the
    training data; `seconds` the wall time of the search and the clean-up.
    """

    expression: sympy.Expr
    r2: float
    pareto_front: list[tuple[int, float, sympy.Expr]]
    engine: str
    seconds: float


def fit_symbolic(
    X: np.ndarray,
    y: np.ndarray,
    variable_names: Sequence[str],
    engine: str = "auto",
    random_state: int = 0,
    max_length: int = 20,
    generations: int = 100,
    population_size: int = 500,
    n_threads: int = 2,
    digits: int = 4,
    loss_factor: float = 1.5,
) -> SymbolicFit:
    """Fit y ≈ f(X) with a formula over + - * / and constants, written in `variable_names`.

    Each candidate from the engine is expanded, stripped of terms contributing less than
    10**-digits of y's RMS, and rounded to `digits` significant digits. The chosen expression is
    the simplest one on the Pareto front whose loss is at most `loss_factor` times the best loss
    (plus 1e-12 var(y), so rounding noise cannot split exact fits): extra complexity must buy a
    real improvement, the same idea as PySR's "best" model. `engine` is "pyoperon", "gplearn"
    or "auto" (the first of those installed); `max_length` bounds pyoperon's trees only.
    """
    X, y, symbols = _validated(X, y, variable_names)
    engine = require_engine(engine)
    propose = _ENGINES[engine][1]
    started = time.perf_counter()
    candidates = propose(
        X, y, symbols,
        random_state=random_state, max_length=max_length, generations=generations,
        population_size=population_size, n_threads=n_threads,
    )
    scale = float(np.sqrt(np.mean(y**2)))
    scored = []
    for candidate in candidates:
        expression = _tidy(candidate, X, symbols, scale * 10.0**-digits, digits)
        loss = float(np.mean((_evaluate([expression], symbols, X)[0] - y) ** 2))
        scored.append((_complexity(expression), loss, expression))
    front = _pareto_front(scored)
    if not front:
        raise RuntimeError(f"{engine} returned no formula that is finite on the training data")
    variance = float(np.var(y))
    tolerance = loss_factor * front[-1][1] + _EXACT_LOSS * variance
    _, loss, expression = next(point for point in front if point[1] <= tolerance)
    return SymbolicFit(
        expression=expression,
        r2=1.0 - loss / variance,
        pareto_front=front,
        engine=engine,
        seconds=time.perf_counter() - started,
    )


def plot_pareto_front(fit: SymbolicFit, path: str | Path, title: str) -> Path:
    """Complexity against loss (log scale) with the chosen expression marked, saved as a PNG."""
    complexity = np.array([point[0] for point in fit.pareto_front])
    loss = np.array([point[1] for point in fit.pareto_front])
    loss = np.maximum(loss, np.finfo(float).eps * (loss.max() or 1.0))  # exact fits have loss 0
    chosen = next(i for i, point in enumerate(fit.pareto_front) if point[2] == fit.expression)

    from matplotlib.figure import Figure  # imported where used: a run that plots no front never loads it

    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    axes.step(complexity, loss, where="post", color="tab:blue", marker="o", label="Pareto front")
    axes.plot(complexity[chosen], loss[chosen], "r*", markersize=16,
              label=f"chosen: {textwrap.shorten(to_string(fit.expression), _LEGEND_CHARS, placeholder=' ...')}")
    axes.set_yscale("log")
    axes.set_xlabel("complexity (expression nodes)")
    axes.set_ylabel("mean squared error")
    axes.set_title(title)
    axes.legend(fontsize="small")
    path = Path(path)
    figure.savefig(path, format="png", dpi=120)
    return path


def _validated(X, y, variable_names) -> tuple[np.ndarray, np.ndarray, list[sympy.Symbol]]:
    try:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as error:
        raise UserInputError(f"X and y must be numeric arrays: {error}") from None
    if X.ndim != 2:
        raise UserInputError(f"X must be 2-D (samples x variables), got shape {X.shape}")
    if y.ndim != 1:
        raise UserInputError(f"y must be 1-D (one target per sample), got shape {y.shape}")
    if len(X) != len(y):
        raise UserInputError(f"X has {len(X)} samples but y has {len(y)}")
    if len(y) < 2:
        raise UserInputError(f"need at least 2 samples, got {len(y)}")
    for name, values in (("X", X), ("y", y)):
        bad = int(np.size(values) - np.isfinite(values).sum())
        if bad:
            raise UserInputError(f"{name} has {bad} non-finite values (NaN or inf)")
    if np.ptp(y) == 0:
        raise UserInputError("y is constant: there is no formula to find")
    names = list(variable_names)
    if len(names) != X.shape[1]:
        raise UserInputError(f"{len(names)} variable names for {X.shape[1]} columns of X")
    if len(set(names)) != len(names):
        raise UserInputError(f"variable names must be distinct, got {names}")
    for name in names:
        if not _is_plain_symbol(name):
            raise UserInputError(
                f"variable name {name!r} is not usable: formulas must read it as a plain variable "
                "(an identifier that is not a keyword, a function name such as exp or a constant such as E or pi)"
            )
    return X, y, [sympy.Symbol(name) for name in names]


def _is_plain_symbol(name: object) -> bool:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return False
    return name not in FUNCTIONS and name not in CONSTANTS and name != "Piecewise"


def require_engine(engine: str = "auto") -> str:
    """The engine `engine` names ("auto": the first installed), or a one-line error saying what to
    install: a run that reads its messages by symbolic regression checks this before it trains."""
    if engine == "auto":
        for name in _ENGINES:
            if _installed(name):
                return name
        raise UserInputError(f"symbolic regression needs pyoperon or gplearn: {_INSTALL}")
    if engine not in _ENGINES:
        raise UserInputError(f"unknown engine {engine!r}: choose auto, {', '.join(_ENGINES)}")
    if not _installed(engine):
        raise UserInputError(f"engine {engine!r} is not installed: {_INSTALL}")
    return engine


def _installed(engine: str) -> bool:
    try:
        importlib.import_module(_ENGINES[engine][0])
    except ImportError:
        return False
    return True


def _pyoperon_candidates(X, y, symbols, *, random_state, max_length, generations,
                         population_size, n_threads) -> list[sympy.Expr]:
    """Every model on pyoperon's final Pareto front of (R², length)."""
    from pyoperon.sklearn import SymbolicRegressor

    regressor = SymbolicRegressor(
        allowed_symbols="add,sub,mul,div,constant,variable",
        objectives=["r2", "length"],  # with one objective pyoperon keeps a single model
        optimizer_iterations=_CONSTANT_FIT_ITERATIONS,
        max_length=max_length,
        generations=generations,
        population_size=population_size,
        n_threads=n_threads,
        random_state=random_state,
    )
    regressor.fit(X, y)
    placeholders = [f"v{i}" for i in range(len(symbols))]
    names = dict(zip(placeholders, symbols))
    return [
        parse_formula(regressor.get_model_string(model["tree"], _PRINT_DECIMALS, names=placeholders), names,
                      what="pyoperon model")
        for model in regressor.pareto_front_
    ]


def _gplearn_candidates(X, y, symbols, *, random_state, max_length, generations,
                        population_size, n_threads) -> list[sympy.Expr]:
    """gplearn's best program only: it keeps no Pareto front. Its protected division
    (1 where |denominator| < 0.001) is read as plain division."""
    from gplearn.genetic import SymbolicRegressor

    regressor = SymbolicRegressor(
        function_set=("add", "sub", "mul", "div"),
        generations=generations,
        population_size=population_size,
        n_jobs=n_threads,
        random_state=random_state,
    )
    regressor.fit(X, y)
    functions = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                 "div": operator.truediv}
    names = {f"X{i}": symbol for i, symbol in enumerate(symbols)}
    return [parse_formula(str(regressor), names, what="gplearn program", functions=functions)]


_ENGINES: dict[str, tuple[str, Callable[..., list[sympy.Expr]]]] = {
    "pyoperon": ("pyoperon.sklearn", _pyoperon_candidates),
    "gplearn": ("gplearn.genetic", _gplearn_candidates),
}


def _tidy(expression, X, symbols, negligible: float, digits: int) -> sympy.Expr:
    """Drop additive terms whose RMS on the data is below `negligible`, round the rest."""
    terms = sympy.Add.make_args(sympy.expand(expression))
    sizes = [np.sqrt(np.mean(values**2)) for values in _evaluate(terms, symbols, X)]
    kept = [term for term, size in zip(terms, sizes) if not size < negligible]  # NaN stays
    return clean_expression(sympy.Add(*kept), digits=digits, drop_below=0.0)


def _evaluate(expressions, symbols, X) -> list[np.ndarray]:
    with np.errstate(all="ignore"):
        values = sympy.lambdify(symbols, list(expressions), "numpy")(*X.T)
    return [np.broadcast_to(np.asarray(v, dtype=float), len(X)) for v in values]


def _complexity(expression: sympy.Expr) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expression))


def _pareto_front(scored):
    """Non-dominated (complexity, loss, expression) points, simplest first, finite loss only."""
    front = []
    for point in sorted((p for p in scored if np.isfinite(p[1])), key=lambda p: p[:2]):
        if not front or point[1] < front[-1][1]:
            front.append(point)
    return front
