"""The methods the formula benchmarks compare, each `fit(X, y, seconds, seed) -> (formula, settings)`:
EQLRegressor with its defaults, pyoperon with a time limit, and gplearn generation after
generation until it has used as much time. Every method sees the variables as x0, x1, ... (so
no name can clash with a sympy function). The baselines' models are read from their trees, not
from their printed text."""
from __future__ import annotations

import math
import time

import sympy

from eqlearn.eql.regressor import EQLRegressor


def timed_fit(fit, X, y, seconds: float, seed: int) -> tuple[sympy.Expr, dict, str, float]:
    """(formula, settings, error, wall seconds) of one method's `fit`: a failing method is a row
    with its error (nan for the formula), not the end of the benchmark."""
    start = time.perf_counter()
    try:
        found, settings = fit(X, y, seconds, seed)
        error = ""
    except Exception as exception:
        found, settings, error = sympy.nan, {}, f"{type(exception).__name__}: {exception}"[:200]
    return found, settings, error, time.perf_counter() - start


def fit_eql(X, y, seconds: float | None, seed: int):
    """EQLRegressor with its defaults; the settings name the source of the chosen formula."""
    return fitted_settings(EQLRegressor(random_state=seed).fit(X, y))


def fitted_settings(model: EQLRegressor):
    """The model's formula and its settings, with the source of the selected candidate."""
    settings = {k: v for k, v in model.get_params().items() if k != "feature_names"}
    selected = model.equations_[model.equations_["selected"]].iloc[0]
    return model.sympy(), {**settings, "selected_source": selected["source"]}


OPERON_SYMBOLS = "add,sub,mul,div,constant,variable,sin,cos,exp,log,sqrt,square"


def fit_operon(X, y, seconds: float, seed: int):
    """pyoperon with its defaults, a wider set of functions, one thread and a time limit."""
    from pyoperon.sklearn import SymbolicRegressor

    settings = dict(allowed_symbols=OPERON_SYMBOLS, optimizer_iterations=10, generations=10**6,
                    max_evaluations=10**9, max_time=max(1, math.ceil(seconds)), n_threads=1, random_state=seed)
    model = SymbolicRegressor(**settings).fit(X, y)
    columns = {hash_value: int(name[1:]) - 1 for hash_value, name in model.variables_.items()}  # "X1" is column 0
    return operon_formula(model.model_, columns), settings


_OPERON_UNARY = {"Exp": sympy.exp, "Log": sympy.log, "Sin": sympy.sin, "Cos": sympy.cos, "Tan": sympy.tan,
                 "Tanh": sympy.tanh, "Sqrt": sympy.sqrt, "Cbrt": sympy.cbrt, "Square": lambda a: a**2}


def operon_formula(tree, columns: dict) -> sympy.Expr:
    """An operon tree (nodes in postfix order; a node's first argument is the node just before
    it) as a sympy formula in x0, x1, ...; a variable node carries its own weight."""
    stack: list[sympy.Expr] = []
    for node in tree.Nodes:
        kind = str(node.Type).rsplit(".", 1)[-1]
        if kind == "Constant":
            stack.append(sympy.Float(node.Value))
            continue
        if kind == "Variable":
            stack.append(sympy.Float(node.Value) * sympy.Symbol(f"x{columns[node.HashValue]}"))
            continue
        args = [stack.pop() for _ in range(node.Arity)]
        if kind == "Add":
            stack.append(sympy.Add(*args))
        elif kind == "Mul":
            stack.append(sympy.Mul(*args))
        elif kind == "Sub":
            stack.append(args[0] - sympy.Add(*args[1:]) if len(args) > 1 else -args[0])
        elif kind == "Div":
            stack.append(args[0] / sympy.Mul(*args[1:]) if len(args) > 1 else 1 / args[0])
        elif kind in _OPERON_UNARY:
            stack.append(_OPERON_UNARY[kind](args[0]))
        else:
            raise ValueError(f"operon node {kind} has no sympy form here")
    return stack[-1]


GPLEARN_FUNCTIONS = ("add", "sub", "mul", "div", "sqrt", "log", "sin", "cos")
#: gplearn's protected division, sqrt and log are read as the plain functions.
_GPLEARN_SYMPY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
                  "div": lambda a, b: a / b, "sqrt": sympy.sqrt, "log": sympy.log, "sin": sympy.sin,
                  "cos": sympy.cos, "neg": lambda a: -a, "inv": lambda a: 1 / a, "abs": sympy.Abs}


def fit_gplearn(X, y, seconds: float, seed: int):
    """gplearn, one generation more at a time (warm start) until it has used `seconds`."""
    from gplearn.genetic import SymbolicRegressor

    settings = dict(function_set=GPLEARN_FUNCTIONS, population_size=1000, parsimony_coefficient=0.001,
                    random_state=seed, warm_start=True, n_jobs=1)
    model, start, generations = SymbolicRegressor(generations=1, **settings), time.perf_counter(), 1
    model.fit(X, y)
    while time.perf_counter() - start < seconds:
        generations += 1
        model.set_params(generations=generations)
        model.fit(X, y)
    return gplearn_formula(model._program.program), {**settings, "generations": generations}


def gplearn_formula(program: list) -> sympy.Expr:
    """A gplearn program (prefix order: functions, column indices, constants) as a sympy formula."""
    def build(position: int) -> tuple[sympy.Expr, int]:
        node = program[position]
        if isinstance(node, (int,)) and not isinstance(node, bool):
            return sympy.Symbol(f"x{node}"), position + 1
        if isinstance(node, float):
            return sympy.Float(node), position + 1
        args, position = [], position + 1
        for _ in range(node.arity):
            arg, position = build(position)
            args.append(arg)
        return _GPLEARN_SYMPY[node.name](*args), position

    return build(0)[0]
