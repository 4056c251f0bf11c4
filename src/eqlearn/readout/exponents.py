"""A law's exponents fitted to the data: the network's powers are estimates, not the law's.

A network that fits a sum of two close powers (Mie's r⁻¹⁰ and r⁻⁷) can spread each over several
nearby ones (r^-11.3 and r^-10.9 beside r^-6.6 and r^-7.3), and snapping those to the nearest
multiple of ½ then misses the law. Here the exponents of r in a law's terms (r^p and e^(k r)) are
fitted by nonlinear least squares, the coefficients solved linearly at every step (variable
projection), starting from the network's values; the fitted exponents are snapped to multiples of
½ and the terms handed back to the refit as one more candidate set, kept or not on held-out graphs
like every other.
"""
from __future__ import annotations

import numpy as np
import sympy
from scipy.optimize import least_squares

from eqlearn.readout.variables import compile_expression
from eqlearn.symbolic import RATE_DIGITS, round_significant
from eqlearn.vocabulary.symbols import r

#: Exponents within this distance of a multiple of 1/2 get a snapped twin among the refit's candidate
#: terms; a fitted rate of e^(k r) this close to 0 is none.
EXPONENT_SNAP = 0.15

#: Laws of two to this many terms are polished (longer ones are not laws a reader wants).
POLISH_TERMS = 4
#: Exponents stay within this distance of where the network put them (in the run's units, where
#: rates are of order one). A network spreads a steep term over several shallower ones (Buckingham's
#: e^(-12.5 r) as r^-5.3 e^(-8.2 r) beside r^-6 e^(-1.3 r)): from there a reach of 3 stopped at an
#: error of 2e-3, one of 6 or more found the law (measured on its pair forces).
POLISH_REACH = 10.0
#: The fit uses at most about this many of the refit's training graphs, and this many evaluations.
POLISH_GRAPHS = 500
POLISH_EVALUATIONS = 40


def free_exponents(terms: list[sympy.Expr]) -> tuple[list[sympy.Expr], list[sympy.Symbol], list[float], list[bool]]:
    """The terms with every numeric power of r and every e^(k r) made a parameter: (templates, the
    parameters, their current values, which of them are powers)."""
    templates, parameters, start, powers = [], [], [], []
    for term in terms:
        replacements = {}
        for power in term.atoms(sympy.Pow):
            if power.base == r and power.exp.is_number:
                symbol = sympy.Symbol(f"p{len(parameters)}")
                parameters.append(symbol)
                start.append(float(power.exp))
                powers.append(True)
                replacements[power] = r**symbol
        for factor in term.atoms(sympy.exp):
            k, rest = factor.args[0].as_coeff_Mul()
            if rest == r:
                symbol = sympy.Symbol(f"p{len(parameters)}")
                parameters.append(symbol)
                start.append(float(k))
                powers.append(False)
                replacements[factor] = sympy.exp(symbol * r)
        templates.append(term.xreplace(replacements))
    return templates, parameters, start, powers


def polish_exponents(terms: list[sympy.Expr], net_terms, target: np.ndarray,
                     weight: np.ndarray) -> list[sympy.Expr] | None:
    """The terms with their exponents of r fitted to `target` (the weighted net force of the graphs
    `net_terms` sums over) and snapped to multiples of ½; None where there is nothing to fit or
    the fit fails."""
    templates, parameters, start, powers = free_exponents(terms)
    if not parameters:
        return None
    functions = [compile_expression(t, parameters) for t in templates]

    def columns(numbers) -> np.ndarray:
        return np.column_stack([net_terms.sum_over_edges(f(net_terms.values, *numbers)).reshape(-1)
                                for f in functions]) * weight[:, None]

    def residual(numbers) -> np.ndarray:
        design = columns(numbers)
        if not np.all(np.isfinite(design)):
            return np.full(len(target), 1e3 * np.linalg.norm(target))
        coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
        return target - design @ coefficients

    start = np.array(start)
    try:
        fit = least_squares(residual, start, bounds=(start - POLISH_REACH, start + POLISH_REACH),
                            max_nfev=POLISH_EVALUATIONS, x_scale=1.0)
    except (ValueError, np.linalg.LinAlgError):
        return None
    snapped = {p: snap_fitted(value, power) for p, value, power in zip(parameters, fit.x, powers)}
    return [sympy.powsimp(t.xreplace(snapped)) for t in templates]


def snap_fitted(value: float, power: bool) -> sympy.Expr:
    """A fitted exponent as the law will hold it: a power of r (a pure number, whatever the units)
    to the nearest multiple of ½; the rate k of e^(k r), which carries the run's unit of length, as
    fitted (to RATE_DIGITS), or 0 within EXPONENT_SNAP of it."""
    if power:
        return sympy.Rational(round(2 * value), 2)
    return sympy.Integer(0) if abs(value) <= EXPONENT_SNAP else sympy.Float(round_significant(value, RATE_DIGITS))
