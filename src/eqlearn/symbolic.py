"""Expression utilities shared by every read-out: rounding, pruning of tiny terms, printing."""
from __future__ import annotations

import sympy


def round_significant(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant digits (0 stays 0)."""
    return float(f"{value:.{digits}g}")


def _tidy_number(value: sympy.Float, digits: int) -> sympy.Expr:
    rounded = round_significant(float(value), digits)
    return sympy.Integer(int(rounded)) if rounded == int(rounded) else sympy.Float(rounded, digits)


def clean_expression(expr: sympy.Expr, digits: int = 3, drop_below: float = 1e-2) -> sympy.Expr:
    """Expand, drop additive terms whose coefficient is below `drop_below`, round the rest.

    Integral floats become integers so `1.0*x**2.0` prints as `x**2`.
    """
    expr = sympy.expand(sympy.sympify(expr))
    kept = []
    for term in sympy.Add.make_args(expr):
        coefficient, _ = term.as_coeff_Mul()
        if coefficient.is_number and abs(float(coefficient)) < drop_below:
            continue
        kept.append(term)
    expr = sympy.Add(*kept)
    return expr.xreplace({f: _tidy_number(f, digits) for f in expr.atoms(sympy.Float)})


def to_string(expr: sympy.Expr) -> str:
    """Plain text that `sympy.sympify` parses back to the same expression."""
    return sympy.sstr(expr)


def to_latex(expr: sympy.Expr) -> str:
    return sympy.latex(expr)
