"""The AI Feynman equations (Udrescu & Tegmark 2020) with at most 5 variables: EQLRegressor,
pyoperon and gplearn on the same data at equal wall time, judged by SRBench's rule.

Each equation is sampled uniformly in its published ranges (1,000 training points, noise-free or
with Gaussian noise of `--noise` times the target's RMS, as SRBench does). EQLRegressor runs first
with its defaults; pyoperon then gets `max_time` = the EQL's wall time (rounded up to a second) and
gplearn runs generation after generation until it has used as much (`sr_methods.py`). Judged per
method by `srbench_judge.py`:

- symbolic solution (SRBench): numbers snapped to p/q or p/q*pi within 0.5 % and the rest rounded
  to 3 significant digits, the difference or the ratio to the truth is constant (spread <= 1e-6
  of its size on 2,000 points of the published ranges);
- R^2 on 2,000 fresh points of the published ranges;
- extrapolation: RMSE / std of the truth on 2,000 points of ranges 1.5x as wide around the same
  centres (points where the truth itself is undefined, e.g. v > c, are redrawn).

Every method sees the variables as x0, x1, ... (so no name can clash with a sympy function).

    taskset -c 1 python benchmarks/feynman.py                       # noise-free, seed 0, all 92
    taskset -c 1 python benchmarks/feynman.py --noise 0.01 --only I.12.1,I.14.3
    python benchmarks/feynman.py --table                            # rebuild feynman.md only

Left out: the 8 equations with more than 5 variables (I.9.18, I.11.19, I.32.17, I.40.1,
II.6.15a, II.11.17, II.36.38, III.9.52), as the issue's scope says; nothing else.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np
import sympy

sys.path.insert(0, str(Path(__file__).parent))
from eqlearn.engines import ENGINES, run_tasks  # noqa: E402
from eqlearn.eql.candidates import SNAP_VARIANTS  # noqa: E402
from eqlearn.eql.library import fit_library  # noqa: E402
from eqlearn.eql.library_ratio import fit_library_ratio  # noqa: E402
from eqlearn.eql.regressor import EQLRegressor  # noqa: E402
from eqlearn.eql.selection import as_good_as_best, fit_power_law, refit_terms  # noqa: E402
from eqlearn.symbolic import clean_expression, to_string  # noqa: E402
from eqlearn.vocabulary.formula import parse_formula  # noqa: E402
from results_log import append_rows, done_keys, read_rows  # noqa: E402
from sr_methods import fit_eql, fit_gplearn, fit_operon, fitted_settings, timed_fit  # noqa: E402
from srbench_judge import commit as source_commit  # noqa: E402
from srbench_judge import scores, unjudged  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ROWS = RESULTS / "feynman.jsonl"
#: A key is an equation, noise, seed and method, done once whatever the commit (a rerun starts a new file).
ONE_ROW_PER_KEY = ("key",)
N_TRAIN = 1000

#: (name, formula, "variable low high, ...") typed in from the public AI Feynman list
#: (FeynmanEquations.csv of https://space.mit.edu/home/tegmark/aifeynman.html).
EQUATIONS: list[tuple[str, str, str]] = [
    ("I.6.2a", "exp(-theta**2/2)/sqrt(2*pi)", "theta 1 3"),
    ("I.6.2", "exp(-(theta/sigma)**2/2)/(sqrt(2*pi)*sigma)", "sigma 1 3, theta 1 3"),
    ("I.6.2b", "exp(-((theta-theta1)/sigma)**2/2)/(sqrt(2*pi)*sigma)", "sigma 1 3, theta 1 3, theta1 1 3"),
    ("I.8.14", "sqrt((x2-x1)**2+(y2-y1)**2)", "x1 1 5, x2 1 5, y1 1 5, y2 1 5"),
    ("I.10.7", "m_0/sqrt(1-v**2/c**2)", "m_0 1 5, v 1 2, c 3 10"),
    ("I.12.1", "mu*Nn", "mu 1 5, Nn 1 5"),
    ("I.12.2", "q1*q2*r/(4*pi*epsilon*r**3)", "q1 1 5, q2 1 5, epsilon 1 5, r 1 5"),
    ("I.12.4", "q1*r/(4*pi*epsilon*r**3)", "q1 1 5, epsilon 1 5, r 1 5"),
    ("I.12.5", "q2*Ef", "q2 1 5, Ef 1 5"),
    ("I.12.11", "q*(Ef+B*v*sin(theta))", "q 1 5, Ef 1 5, B 1 5, v 1 5, theta 1 5"),
    ("I.13.4", "1/2*m*(v**2+u**2+w**2)", "m 1 5, v 1 5, u 1 5, w 1 5"),
    ("I.13.12", "G*m1*m2*(1/r2-1/r1)", "m1 1 5, m2 1 5, r1 1 5, r2 1 5, G 1 5"),
    ("I.14.3", "m*g*z", "m 1 5, g 1 5, z 1 5"),
    ("I.14.4", "1/2*k_spring*x**2", "k_spring 1 5, x 1 5"),
    ("I.15.3x", "(x-u*t)/sqrt(1-u**2/c**2)", "x 5 10, u 1 2, c 3 20, t 1 2"),
    ("I.15.3t", "(t-u*x/c**2)/sqrt(1-u**2/c**2)", "x 1 5, c 3 10, u 1 2, t 1 5"),
    ("I.15.1", "m_0*v/sqrt(1-v**2/c**2)", "m_0 1 5, v 1 2, c 3 10"),
    ("I.16.6", "(u+v)/(1+u*v/c**2)", "c 1 5, v 1 5, u 1 5"),
    ("I.18.4", "(m1*r1+m2*r2)/(m1+m2)", "m1 1 5, m2 1 5, r1 1 5, r2 1 5"),
    ("I.18.12", "r*F*sin(theta)", "r 1 5, F 1 5, theta 0 5"),
    ("I.18.14", "m*r*v*sin(theta)", "m 1 5, r 1 5, v 1 5, theta 1 5"),
    ("I.24.6", "1/2*m*(omega**2+omega_0**2)*1/2*x**2", "m 1 3, omega 1 3, omega_0 1 3, x 1 3"),
    ("I.25.13", "q/C", "q 1 5, C 1 5"),
    ("I.26.2", "asin(n*sin(theta2))", "n 0 1, theta2 1 5"),
    ("I.27.6", "1/(1/d1+n/d2)", "d1 1 5, d2 1 5, n 1 5"),
    ("I.29.4", "omega/c", "omega 1 10, c 1 10"),
    ("I.29.16", "sqrt(x1**2+x2**2-2*x1*x2*cos(theta1-theta2))", "x1 1 5, x2 1 5, theta1 1 5, theta2 1 5"),
    ("I.30.3", "Int_0*sin(n*theta/2)**2/sin(theta/2)**2", "Int_0 1 5, theta 1 5, n 1 5"),
    ("I.30.5", "asin(lambd/(n*d))", "lambd 1 2, d 2 5, n 1 5"),
    ("I.32.5", "q**2*a**2/(6*pi*epsilon*c**3)", "q 1 5, a 1 5, epsilon 1 5, c 1 5"),
    ("I.34.8", "q*v*B/p", "q 1 5, v 1 5, B 1 5, p 1 5"),
    ("I.34.1", "omega_0/(1-v/c)", "c 3 10, v 1 2, omega_0 1 5"),
    ("I.34.14", "(1+v/c)/sqrt(1-v**2/c**2)*omega_0", "c 3 10, v 1 2, omega_0 1 5"),
    ("I.34.27", "(h/(2*pi))*omega", "omega 1 5, h 1 5"),
    ("I.37.4", "I1+I2+2*sqrt(I1*I2)*cos(delta)", "I1 1 5, I2 1 5, delta 1 5"),
    ("I.38.12", "4*pi*epsilon*(h/(2*pi))**2/(m*q**2)", "m 1 5, q 1 5, h 1 5, epsilon 1 5"),
    ("I.39.1", "3/2*pr*V", "pr 1 5, V 1 5"),
    ("I.39.11", "1/(gamma-1)*pr*V", "gamma 2 5, pr 1 5, V 1 5"),
    ("I.39.22", "n*kb*T/V", "n 1 5, T 1 5, V 1 5, kb 1 5"),
    ("I.41.16", "h/(2*pi)*omega**3/(pi**2*c**2*(exp((h/(2*pi))*omega/(kb*T))-1))",
     "omega 1 5, T 1 5, h 1 5, kb 1 5, c 1 5"),
    ("I.43.16", "mu_drift*q*Volt/d", "mu_drift 1 5, q 1 5, Volt 1 5, d 1 5"),
    ("I.43.31", "mob*kb*T", "mob 1 5, T 1 5, kb 1 5"),
    ("I.43.43", "1/(gamma-1)*kb*v/A", "gamma 2 5, kb 1 5, A 1 5, v 1 5"),
    ("I.44.4", "n*kb*T*log(V2/V1)", "n 1 5, kb 1 5, T 1 5, V1 1 5, V2 1 5"),
    ("I.47.23", "sqrt(gamma*pr/rho)", "gamma 1 5, pr 1 5, rho 1 5"),
    ("I.48.2", "m*c**2/sqrt(1-v**2/c**2)", "m 1 5, v 1 2, c 3 10"),
    ("I.50.26", "x1*(cos(omega*t)+alpha*cos(omega*t)**2)", "x1 1 3, omega 1 3, t 1 3, alpha 1 3"),
    ("II.2.42", "kappa*(T2-T1)*A/d", "kappa 1 5, T1 1 5, T2 1 5, A 1 5, d 1 5"),
    ("II.3.24", "Pwr/(4*pi*r**2)", "Pwr 1 5, r 1 5"),
    ("II.4.23", "q/(4*pi*epsilon*r)", "q 1 5, epsilon 1 5, r 1 5"),
    ("II.6.11", "1/(4*pi*epsilon)*p_d*cos(theta)/r**2", "epsilon 1 3, p_d 1 3, theta 1 3, r 1 3"),
    ("II.6.15b", "p_d/(4*pi*epsilon)*3*cos(theta)*sin(theta)/r**3", "epsilon 1 3, p_d 1 3, theta 1 3, r 1 3"),
    ("II.8.7", "3/5*q**2/(4*pi*epsilon*d)", "q 1 5, epsilon 1 5, d 1 5"),
    ("II.8.31", "epsilon*Ef**2/2", "epsilon 1 5, Ef 1 5"),
    ("II.10.9", "sigma_den/epsilon*1/(1+chi)", "sigma_den 1 5, epsilon 1 5, chi 1 5"),
    ("II.11.3", "q*Ef/(m*(omega_0**2-omega**2))", "q 1 3, Ef 1 3, m 1 3, omega_0 3 5, omega 1 2"),
    ("II.11.20", "n_rho*p_d**2*Ef/(3*kb*T)", "n_rho 1 5, p_d 1 5, Ef 1 5, kb 1 5, T 1 5"),
    ("II.11.27", "n*alpha/(1-(n*alpha/3))*epsilon*Ef", "n 0 1, alpha 0 1, epsilon 1 2, Ef 1 2"),
    ("II.11.28", "1+n*alpha/(1-(n*alpha/3))", "n 0 1, alpha 0 1"),
    ("II.13.17", "1/(4*pi*epsilon*c**2)*2*I/r", "epsilon 1 5, c 1 5, I 1 5, r 1 5"),
    ("II.13.23", "rho_c_0/sqrt(1-v**2/c**2)", "rho_c_0 1 5, v 1 2, c 3 10"),
    ("II.13.34", "rho_c_0*v/sqrt(1-v**2/c**2)", "rho_c_0 1 5, v 1 2, c 3 10"),
    ("II.15.4", "-mom*B*cos(theta)", "mom 1 5, B 1 5, theta 1 5"),
    ("II.15.5", "-p_d*Ef*cos(theta)", "p_d 1 5, Ef 1 5, theta 1 5"),
    ("II.21.32", "q/(4*pi*epsilon*r*(1-v/c))", "q 1 5, epsilon 1 5, r 1 5, v 1 2, c 3 10"),
    ("II.24.17", "sqrt(omega**2/c**2-pi**2/d**2)", "omega 4 6, c 1 2, d 2 4"),
    ("II.27.16", "epsilon*c*Ef**2", "epsilon 1 5, c 1 5, Ef 1 5"),
    ("II.27.18", "epsilon*Ef**2", "epsilon 1 5, Ef 1 5"),
    ("II.34.2a", "q*v/(2*pi*r)", "q 1 5, v 1 5, r 1 5"),
    ("II.34.2", "q*v*r/2", "q 1 5, v 1 5, r 1 5"),
    ("II.34.11", "g_*q*B/(2*m)", "g_ 1 5, q 1 5, B 1 5, m 1 5"),
    ("II.34.29a", "q*h/(4*pi*m)", "q 1 5, h 1 5, m 1 5"),
    ("II.34.29b", "g_*mom*B*Jz/(h/(2*pi))", "g_ 1 5, h 1 5, Jz 1 5, mom 1 5, B 1 5"),
    ("II.35.18", "n_0/(exp(mom*B/(kb*T))+exp(-mom*B/(kb*T)))", "n_0 1 3, kb 1 3, T 1 3, mom 1 3, B 1 3"),
    ("II.35.21", "n_rho*mom*tanh(mom*B/(kb*T))", "n_rho 1 5, mom 1 5, B 1 5, kb 1 5, T 1 5"),
    ("II.37.1", "mom*(1+chi)*B", "mom 1 5, B 1 5, chi 1 5"),
    ("II.38.3", "Y*A*x/d", "Y 1 5, A 1 5, d 1 5, x 1 5"),
    ("II.38.14", "Y/(2*(1+sigma))", "Y 1 5, sigma 1 5"),
    ("III.4.32", "1/(exp((h/(2*pi))*omega/(kb*T))-1)", "h 1 5, omega 1 5, kb 1 5, T 1 5"),
    ("III.4.33", "(h/(2*pi))*omega/(exp((h/(2*pi))*omega/(kb*T))-1)", "h 1 5, omega 1 5, kb 1 5, T 1 5"),
    ("III.7.38", "2*mom*B/(h/(2*pi))", "mom 1 5, B 1 5, h 1 5"),
    ("III.8.54", "sin(E_n*t/(h/(2*pi)))**2", "E_n 1 2, t 1 2, h 1 4"),
    ("III.10.19", "mom*sqrt(Bx**2+By**2+Bz**2)", "mom 1 5, Bx 1 5, By 1 5, Bz 1 5"),
    ("III.12.43", "n*(h/(2*pi))", "n 1 5, h 1 5"),
    ("III.13.18", "2*E_n*d**2*k/(h/(2*pi))", "E_n 1 5, d 1 5, k 1 5, h 1 5"),
    ("III.14.14", "I_0*(exp(q*Volt/(kb*T))-1)", "I_0 1 5, q 1 2, Volt 1 2, kb 1 2, T 1 2"),
    ("III.15.12", "2*U*(1-cos(k*d))", "U 1 5, k 1 5, d 1 5"),
    ("III.15.14", "(h/(2*pi))**2/(2*E_n*d**2)", "h 1 5, E_n 1 5, d 1 5"),
    ("III.15.27", "2*pi*alpha/(n*d)", "alpha 1 5, n 1 5, d 1 5"),
    ("III.17.37", "beta*(1+alpha*cos(theta))", "beta 1 5, alpha 1 5, theta 1 5"),
    ("III.19.51", "-m*q**4/(2*(4*pi*epsilon)**2*(h/(2*pi))**2)*(1/n**2)", "m 1 5, q 1 5, h 1 5, n 1 5, epsilon 1 5"),
    ("III.21.20", "-rho_c_0*q*A_vec/m", "rho_c_0 1 5, q 1 5, A_vec 1 5, m 1 5"),
]


class Equation:
    """One benchmark formula in the placeholder variables x0, x1, ... and its sampling ranges."""

    def __init__(self, name: str, formula: str, ranges: str):
        self.name, self.formula = name, formula
        parts = [item.split() for item in ranges.split(",")]
        self.variables = [p[0] for p in parts]
        self.low = np.array([float(p[1]) for p in parts])
        self.high = np.array([float(p[2]) for p in parts])
        self.symbols = [sympy.Symbol(f"x{i}") for i in range(len(parts))]
        original = {v: sympy.Symbol(f"x{i}") for i, v in enumerate(self.variables)}
        self.truth = parse_formula(formula, original, what=f"Feynman formula {name}")
        self._function = sympy.lambdify(self.symbols, self.truth, "numpy")

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(self._function(*X.T), dtype=float), X.shape[:1])

    def sample(self, n: int, rng: np.random.Generator, widen: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """`n` points uniform in the ranges widened `widen` times about their centres; points where
        the truth is undefined are redrawn."""
        centre, half = (self.low + self.high) / 2, (self.high - self.low) / 2 * widen
        X, y = np.empty((0, len(centre))), np.empty(0)
        while len(y) < n:
            draw = rng.uniform(centre - half, centre + half, size=(2 * n, len(centre)))
            values = self.evaluate(draw)
            keep = np.isfinite(values)
            X, y = np.vstack([X, draw[keep]]), np.concatenate([y, values[keep]])
        return X[:n], y[:n]


# --------------------------------------------------------------------------------- methods
def fit_eql_networks(X, y, seconds: float | None, seed: int):
    """EQLRegressor without its power-law and library candidates: what the networks alone recover."""
    return fitted_settings(EQLRegressor(random_state=seed, power_law=False, library=False).fit(X, y))


def fit_library_alone(X, y, seconds: float | None, seed: int):
    """The regressor's two library candidates on their own (sums and ratios, chosen on held-out
    rows as in the regressor): the share of the Feynman set a sparse regression solves."""
    symbols = [sympy.Symbol(f"x{i}") for i in range(X.shape[1])]
    order = np.random.default_rng(seed).permutation(len(X))
    valid, train = order[: len(X) // 5], order[len(X) // 5:]
    rows = (X[train], y[train]), (X[valid], y[valid])
    fits = [fit for fitter in (fit_library, fit_library_ratio) for fit in fitter(symbols, *rows)]
    fits = [(clean_expression(f, digits=3, drop_below=0), e) for f, e in fits if math.isfinite(e)]
    if not fits:
        return sympy.nan, {}
    best = min(as_good_as_best([e for _, e in fits]), key=lambda i: sympy.count_ops(fits[i][0]))
    return fits[best][0], {"library": "sums and ratios"}


def fit_power_law_alone(X, y, seconds: float | None, seed: int):
    """The regressor's power-law candidate on its own (log-space least squares, snapped, refitted,
    chosen on held-out rows as in the regressor): the share of the Feynman set a single monomial
    solves."""
    symbols = [sympy.Symbol(f"x{i}") for i in range(X.shape[1])]
    order = np.random.default_rng(seed).permutation(len(X))
    valid, train = order[: len(X) // 5], order[len(X) // 5:]
    positive = np.flatnonzero((X[train] > 0).all(axis=0))
    law = fit_power_law(X[train], y[train], positive, symbols)
    if law is None:
        return sympy.nan, {}
    fits = [refit_terms(snap(law), symbols, (X[train], y[train]), (X[valid], y[valid])) for snap in SNAP_VARIANTS.values()]
    errors = [error for _, error in fits]
    best = min(as_good_as_best(errors), key=lambda i: sympy.count_ops(fits[i][0]))
    return clean_expression(fits[best][0], digits=3, drop_below=0), {"variants": list(SNAP_VARIANTS)}


METHODS = {"eql": fit_eql, "operon": fit_operon, "gplearn": fit_gplearn,
           "eql_networks": fit_eql_networks, "power_law": fit_power_law_alone, "library": fit_library_alone}
#: The side-by-side comparison; the other three take EQLRegressor apart.
MAIN_METHODS = ["eql", "operon", "gplearn"]


# ------------------------------------------------------------------------------------- runs
def commit() -> str:
    return source_commit("benchmarks/feynman.py")


def training_data(equation: Equation, seed: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """An equation's N_TRAIN training points for `seed`, and the generator that drew them (the
    noise and the test points continue from it)."""
    rng = np.random.default_rng([seed, EQUATIONS.index(next(e for e in EQUATIONS if e[0] == equation.name))])
    return (rng, *equation.sample(N_TRAIN, rng))


def run_equation(equation: Equation, noise: float, seed: int, methods: list[str], done: set[str]) -> list[dict]:
    rng, X, y = training_data(equation, seed)
    if noise > 0:
        y = y + rng.normal(0, noise * np.sqrt(np.mean(y**2)), size=y.shape)
    rows, budget = [], None
    for method in methods:
        key = f"{equation.name}|{noise}|{seed}|{method}"
        if key in done:
            eql_key = f"{equation.name}|{noise}|{seed}|eql"
            budget = budget or next((r["seconds"] for r in read_rows(ROWS, ONE_ROW_PER_KEY) if r["key"] == eql_key), None)
            continue
        found, settings, error, seconds = timed_fit(METHODS[method], X, y, budget if budget is not None else 30.0, seed)
        if method == "eql":
            budget = seconds
        judged = scores(found, equation, np.random.default_rng([seed, 1])) if not error else unjudged()
        rows.append({
            "key": key, "equation": equation.name, "formula": equation.formula, "n_variables": len(equation.variables),
            "noise": noise, "seed": seed, "method": method, "seconds": round(seconds, 1),
            "solved": bool(judged["solution"]), **judged, "expression": to_string(found), "error": error,
            "commit": commit(), "config": json.dumps(settings, default=str),
        })
        print(f"{equation.name:>10} {method:>8} {seconds:6.1f}s solved={bool(judged['solution'])!s:5} "
              f"r2={judged['r2']} extrap={judged['extrapolation_nrmse']}  {to_string(found)[:100]}", flush=True)
        append_rows(ROWS, rows[-1:])
    return rows


def write_table(rows: list[dict]) -> Path:
    """feynman.md: solution rates and median scores per method and noise, then every equation."""
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    lines = ["# AI Feynman equations (at most 5 variables): EQLRegressor, pyoperon, gplearn", "",
             "Written by `benchmarks/feynman.py` from `feynman.jsonl` (one row per equation, noise, seed "
             "and method, with the git commit and every setting). Equal wall time per equation: "
             "pyoperon and gplearn get the EQL's.", "",
             "| noise | method | equations | symbolic solutions | median R² | median extrapolation NRMSE (1.5× range) | median s |",
             "|---|---|---|---|---|---|---|"]
    for noise in sorted({r["noise"] for r in rows}):
        complete = _complete_equations(rows, noise, [m for m in MAIN_METHODS if m in methods])
        for method in methods:
            mine = [r for r in rows if r["noise"] == noise and r["method"] == method and r["equation"] in complete]
            if not mine:
                continue
            solved = sum(r["solved"] for r in mine)
            lines.append(f"| {noise:g} | {method} | {len(mine)} | {solved} ({100 * solved / len(mine):.0f} %) | "
                         f"{_median(r['r2'] for r in mine)} | {_median(r['extrapolation_nrmse'] for r in mine)} | "
                         f"{statistics.median(r['seconds'] for r in mine):.1f} |")
    lines += ["", "Counts are over the equations that eql, operon and gplearn all finished at that noise level "
              "(and, for eql_networks, power_law and library, that they finished too). "
              "Missing R² / NRMSE (non-finite predictions) count as worst in the medians.", ""]
    for noise in sorted({r["noise"] for r in rows}):
        lines += [f"## Per equation, noise {noise:g}", "",
                  "| equation | truth | " + " | ".join(f"{m} solved | {m} R² | {m} extrap. NRMSE | {m} s" for m in methods) + " | EQL formula |",
                  "|---|---|" + "---|---|---|---|" * len(methods) + "---|"]
        for name, formula, _ in EQUATIONS:
            mine = {r["method"]: r for r in rows if r["noise"] == noise and r["equation"] == name}
            if not mine:
                continue
            cells = []
            for m in methods:
                r = mine.get(m)
                cells += ["–"] * 4 if r is None else [
                    "yes" if r["solved"] else "no", _fmt(r["r2"]), _fmt(r["extrapolation_nrmse"]), f"{r['seconds']:.0f}"]
            eql = mine.get("eql", {}).get("expression", "")
            lines.append(f"| {name} | `{formula}` | " + " | ".join(cells) + f" | `{eql[:80]}` |")
        lines.append("")
    path = RESULTS / "feynman.md"
    path.write_text("\n".join(lines))
    return path


def _complete_equations(rows, noise, methods) -> set[str]:
    by_equation: dict[str, set[str]] = {}
    for r in rows:
        if r["noise"] == noise:
            by_equation.setdefault(r["equation"], set()).add(r["method"])
    return {name for name, found in by_equation.items() if set(methods) <= found}


def _median(values) -> str:
    values = [math.inf if v is None else v for v in values]
    median = statistics.median(values)
    return _fmt(median if math.isfinite(median) else None)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.0, help="noise / RMS of the target (default 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="eql,operon,gplearn",
                        help="comma-separated, from " + ", ".join(METHODS) + " (eql first: it sets the time budget)")
    parser.add_argument("--only", help="comma-separated equation names (default: all)")
    parser.add_argument("--table", action="store_true", help="only rebuild feynman.md from feynman.jsonl")
    parser.add_argument("--engine", choices=ENGINES, help="ray (default where installed) or process")
    parser.add_argument("--workers", type=int, default=1,
                        help="equations side by side, one CPU thread each (default: 1, so each one's wall time is its own)")
    args = parser.parse_args()
    if not args.table:
        names = args.only.split(",") if args.only else [e[0] for e in EQUATIONS]
        done = done_keys(ROWS)
        items = [(entry, args.noise, args.seed, args.methods.split(","), done) for entry in EQUATIONS if entry[0] in names]
        run_tasks(run_item, items, engine=args.engine, workers=args.workers, progress=False)  # rows are appended as they finish
    print(write_table(read_rows(ROWS, ONE_ROW_PER_KEY)))


def run_item(item: tuple) -> list[dict]:
    """One equation of the benchmark on an engine worker: (entry, noise, seed, methods, done keys)."""
    entry, *rest = item
    return run_equation(Equation(*entry), *rest)


if __name__ == "__main__":
    main()
