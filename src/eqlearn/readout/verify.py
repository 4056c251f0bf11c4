"""The independent check of a recovered force law against the truth (docs/design.md, "verdicts").

Fresh particle pairs are drawn from the simulator's distribution; each top-d expression is fitted
as an affine function of the true force components (and of F/m1). The law counts as recovered
when every expression is explained with R² >= 0.99 in one of those forms and the fitted d x d map
is well conditioned (the d messages are independent). The true force comes from differentiating
the potential's expression symbolically, not from the simulator's code.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import sympy

from eqlearn.errors import UserInputError
from eqlearn.readout.switches import switch_distances
from eqlearn.readout.variables import evaluate as _evaluate
from eqlearn.symbolic import matches_up_to_constant, snap_numbers
from eqlearn.vocabulary.formula import as_expression, parse_formula
from eqlearn.vocabulary.names import AXES
from eqlearn.vocabulary.symbols import MESSAGE_VARIABLES, SOFTENING, distance
from eqlearn.vocabulary.symbols import NAMESPACE as _NAMESPACE

AXIS_NAMES = ("dx", "dy", "dz")
#: A found switch distance counts as the true one within this fraction of it.
SWITCH_TOLERANCE = 0.01


@dataclass
class Verification:
    form: str  # "force", "acceleration" or "none"
    r2: list[float]
    condition: float
    passed: bool
    unrotated: bool
    exact: list[bool]
    switches: dict | None = None  # where the true law switches at a distance: the true and found distances


    def to_dict(self) -> dict:
        return asdict(self)


def parse_message(text: str | sympy.Expr) -> sympy.Expr:
    """A message expression in the message variables: text by the whitelist grammar
    (`eqlearn.vocabulary.formula`), a sympy expression checked for unknown variables."""
    expr = parse_formula(text, _NAMESPACE, what="message expression") if isinstance(text, str) else as_expression(text)
    unknown = {str(s) for s in expr.free_symbols} - set(_NAMESPACE)
    if unknown:
        raise UserInputError(f"message expression {text!r} uses unknown variable(s) {', '.join(sorted(unknown))}")
    return expr


def true_force(potential_expression: str, dim: int, damping: float = 0.0,
               softening: float = SOFTENING) -> list[sympy.Expr]:
    """F on particle 1 from 2: -dU/dr * Δ/|Δ| - damping * dv, with |Δ| = r - ε, per axis, in
    message variables."""
    energy = parse_message(potential_expression)
    r = _NAMESPACE["r"]
    radial = -sympy.diff(energy, r)
    return [radial * _NAMESPACE[f"d{a}"] / distance(softening) - damping * _NAMESPACE[f"dv{a}"] for a in AXES[:dim]]


def law_constants(expr: sympy.Expr) -> tuple[float, ...]:
    """The numbers a law is written with: each additive term's coefficient and every other float in
    it (48 ε σ¹² and 24 ε σ⁶ of a Lennard-Jones force, B of e^(−B r)). A recovered law's numbers
    are snapped to these (`snap_numbers`): physical constants are not simple numbers."""
    expanded = sympy.expand(expr)
    coefficients = [term.as_coeff_Mul()[0] for term in sympy.Add.make_args(expanded)]
    numbers = {abs(float(c)) for c in [*coefficients, *expanded.atoms(sympy.Float)] if c.is_number and c != 0}
    return tuple(sorted(numbers - {1.0}))


def scale_to_truth(expr: sympy.Expr, truth: sympy.Expr) -> sympy.Expr:
    """The factor that gives the term `expr` shares with `truth` (the one of the largest true
    coefficient) the true coefficient; 1 where they share none. A canonical form is the law divided
    by one of its coefficients, and in a run that changed units that coefficient is no simple
    number in the data's: scaled back, the law's numbers are the truth's own where it is exact
    (the ratio to the truth, which exactness asks to be constant, is unchanged). Terms are matched
    with the numbers beside their coefficients snapped: a law's e^(-27.99999 r) is the truth's e^(-28 r)."""
    references = law_constants(truth)
    terms = lambda e: {snap_numbers(rest, references=references): coefficient for coefficient, rest in
                       (t.as_coeff_Mul() for t in sympy.Add.make_args(sympy.expand(e)))}
    found, true = terms(expr), terms(truth)
    shared = [m for m in true if m in found and not m.is_number and found[m] != 0 and true[m].is_number]
    if not shared:
        return sympy.Integer(1)
    largest = max(shared, key=lambda m: abs(float(true[m])))
    return true[largest] / found[largest]


def sample_pairs(dim: int, samples: int, seed: int, charged: bool,
                 softening: float = SOFTENING) -> dict[str, np.ndarray]:
    """Particle pairs as the simulator draws them: x, v ~ N(0, 1), m = exp(N(0, 1)), q = ±1."""
    rng = np.random.default_rng(seed)
    delta = rng.standard_normal((samples, dim)) - rng.standard_normal((samples, dim))
    values = {AXIS_NAMES[k]: delta[:, k] for k in range(dim)}
    values["r"] = np.linalg.norm(delta, axis=1) + softening
    values["m1"], values["m2"] = np.exp(rng.standard_normal((2, samples)))
    charges = rng.standard_normal((2, samples))
    values["q1"], values["q2"] = np.sign(charges) if charged else charges
    dv = rng.standard_normal((samples, dim)) - rng.standard_normal((samples, dim))
    values.update({f"dv{AXES[k]}": dv[:, k] for k in range(dim)})
    return values


def _affine_fit(target: np.ndarray, components: np.ndarray) -> tuple[float, np.ndarray]:
    """R² of target ≈ components @ a + b, and the slopes a."""
    design = np.column_stack([components, np.ones(len(target))])
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coefficients
    total = np.sum((target - target.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / total if total > 0 and np.isfinite(total) else 0.0
    return float(r2), coefficients[:-1]


def _condition(slopes: np.ndarray) -> float:
    norms = np.linalg.norm(slopes, axis=1, keepdims=True)
    if np.any(norms == 0):
        return float("inf")
    return float(np.linalg.cond(slopes / norms))


def _axes_used(expr: sympy.Expr, dim: int) -> list[str]:
    """The axes an expression reads, through Δ or through the relative velocity."""
    used = {str(s) for s in expr.free_symbols}
    return [f"d{a}" for a in AXES[:dim] if {f"d{a}", f"dv{a}"} & used]


def verify_law(
    expressions: Sequence[str | sympy.Expr],
    potential_expression: str,
    dim: int,
    canonical: Sequence[str | sympy.Expr] | None = None,
    damping: float = 0.0,
    softening: float = SOFTENING,
    samples: int = 4000,
    seed: int = 12345,
    min_r2: float = 0.99,
    max_condition: float = 100.0,
) -> Verification:
    """Check `expressions` (the top-d messages) against the law with energy `potential_expression`."""
    if len(expressions) != dim:
        raise UserInputError(f"need exactly {dim} message expressions for dim={dim}, got {len(expressions)}")
    messages = [parse_message(e) for e in expressions]
    force = true_force(potential_expression, dim, damping, softening)
    charged = any(str(s) in ("q1", "q2") for s in parse_message(potential_expression).free_symbols)
    values = sample_pairs(dim, samples, seed, charged, softening)
    force_values = np.column_stack([_evaluate(f, values) for f in force])
    candidates = {"force": force_values, "acceleration": force_values / values["m1"][:, None]}
    best = ("none", [0.0] * dim, float("inf"))
    for form, components in candidates.items():
        fits = [_affine_fit(_evaluate(m, values), components) for m in messages]
        r2 = [round(f[0], 6) for f in fits]
        condition = _condition(np.array([f[1] for f in fits]))
        if min(r2) > min(best[1]) or (best[0] == "none" and min(r2) >= min_r2):
            best = (form, r2, condition)
    form, r2, condition = best
    passed = min(r2) >= min_r2 and condition <= max_condition
    final = [parse_message(e) for e in canonical] if canonical is not None else messages
    axes = [_axes_used(e, dim) for e in final]
    unrotated = all(len(a) == 1 for a in axes) and len({a[0] for a in axes}) == dim
    divisor = _NAMESPACE["m1"] if form == "acceleration" else sympy.Integer(1)
    # r is not free: r = |Δ| + SOFTENING. Written in Δ alone, forms that differ only through that
    # identity (dx**3 + dx*dy**2 = dx*|Δ|**2) compare as what they are, the same function.
    on_the_pair = {_NAMESPACE["r"]: sympy.sqrt(sum(_NAMESPACE[a] ** 2 for a in AXIS_NAMES[:dim])) + softening}
    exact = []
    for expr, used in zip(final, axes):
        if len(used) != 1:
            exact.append(False)
            continue
        truth = force[AXIS_NAMES.index(used[0])] / divisor
        # a law's own numbers are snapped (to simple numbers and the truth's constants) as printed, in
        # r: writing r = |Δ| + ε makes new numbers (a step at r = 3 reads |Δ| - 2.99, e^(k (|Δ| + ε))
        # = e^(k ε) e^(k |Δ|)) that must not be snapped
        exact.append(passed and any(
            matches_up_to_constant(snap_numbers(e, references=law_constants(truth)).xreplace(on_the_pair),
                                   truth.xreplace(on_the_pair), MESSAGE_VARIABLES, snap=False) is not None
            for e in (expr, expr * scale_to_truth(expr, truth))))
    switches = compare_switches(sympy.Add(*final), sympy.Add(*force))
    if switches is not None:
        exact = [e and switches["within_tolerance"] for e in exact]
    return Verification(form, r2, condition, passed, unrotated, exact, switches)


def compare_switches(found: sympy.Expr, truth: sympy.Expr) -> dict | None:
    """Where the true law switches at distances (its Piecewise conditions): those distances, the
    found law's (its Heaviside steps), and whether every true one has a found one within
    SWITCH_TOLERANCE of it, and no more; None for a law without switches."""
    true_steps = switch_distances(truth)
    if not true_steps:
        return None
    found_steps = switch_distances(found)
    near = lambda t: any(abs(f - t) <= SWITCH_TOLERANCE * abs(t) for f in found_steps)
    return {"true": true_steps, "found": found_steps,
            "within_tolerance": len(found_steps) == len(true_steps) and all(near(t) for t in true_steps)}


def verify_equations_file(path: str | Path) -> Verification:
    """Re-run the verifier on an `equations.json` written by any discovery run: the truth is under
    `truth` (format 3; format 2 had its potential at the top level as well, still read)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no such file: {path}")
    try:
        data = json.loads(path.read_text())
        expressions = [m["expression"] for m in data["messages"]]
        truth = data.get("truth") or ({"potential": data["potential"]} if data.get("potential") else None)
        if truth is None:
            raise UserInputError(f"{path}: the run's data carried no law, so there is no truth to verify against")
        return verify_law(expressions, truth["potential"], int(data["dim"]), canonical=data.get("canonical"),
                          damping=float(truth.get("damping", 0.0)), softening=float(data.get("softening", SOFTENING)))
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise UserInputError(f"{path} is not an eqlearn equations file: {error}") from None
