"""Untrusted text never runs code: every entry point that turns text into a formula refuses
hostile input with one line, before anything is executed or written (docs/design.md, "Formulas
from text")."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy

from eqlearn.cli import main
from eqlearn.errors import UserInputError
from eqlearn.physics.potentials import LAWS, get_potential, parse_potential
from eqlearn.readout.verify import parse_message, verify_equations_file, verify_law
from eqlearn.vocabulary.formula import parse_formula
from eqlearn.vocabulary.symbols import NAMESPACE

SRC = Path(__file__).resolve().parents[1] / "src"


def payloads(marker: Path) -> dict[str, str]:
    """Hostile formulas, each of which creates `marker` or prints PWNED if it is ever run."""
    touch = f"open({str(marker)!r}, 'w')"
    return {
        "dunder import": f"__import__('os').system('touch {marker}')",
        "lambdify": f"lambdify([], \"exec('import os; os.system(\\'touch {marker}\\')')\")()",
        "exec": f"exec(\"{touch}\")",
        "eval": f"eval(\"{touch}\")",
        "getattr": "getattr(r, 'func')",
        "attribute": "r.__class__.__bases__",
        "attribute no dunder": "r.func(1)",
        "subscript": "(r, 1)[0]",
        "lambda": f"(lambda: {touch})()",
        "list comprehension": f"[{touch} for _ in (1,)]",
        "generator": f"sum({touch} for _ in (1,))",
        "f-string": 'f"{' + touch + '}"',
        "print": "print('PWN' + 'ED')",
        "open": touch,
        "walrus": "(x := 1)",
        "keyword argument": "exp(r, evaluate=False)",
        "string literal": "'r'",
        "unknown function": "foo(r)",
        "conditional": "r if r else 1",
        "huge power": "9**9**9**9",
        "long": "+".join(["r"] * 30000),
        "deep parentheses": "(" * 500 + "r" + ")" * 500,
        "deep unary": "-" * 15000 + "r",
        "deep calls": "exp(" * 200 + "r" + ")" * 200,
        "nested powers": "((((r + 1)**50)**50)**50)**50",
    }


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "side_effect_marker"


def test_every_hostile_formula_is_refused_quickly_without_side_effects(marker, capsys):
    variables = {"r": sympy.Symbol("r"), "m1": sympy.Symbol("m1")}
    for name, text in payloads(marker).items():
        start = time.perf_counter()
        with pytest.raises(UserInputError) as error:
            parse_formula(text, variables)
        elapsed = time.perf_counter() - start
        message = str(error.value)
        assert "\n" not in message, name
        assert elapsed < 2.0, f"{name} took {elapsed:.1f} s"
    assert not marker.exists()
    assert "PWNED" not in capsys.readouterr().out


def test_the_error_names_the_offending_token():
    variables = {"r": sympy.Symbol("r")}
    cases = {"__import__('os')": "'__import__'", "lambdify([], 'x')": "'lambdify'", "r.real": "attribute access",
             "r[0]": "subscript", "r < 2": "'<'", "foo(r) + 1": "'foo'", "s + r": "'s'"}
    for text, token in cases.items():
        with pytest.raises(UserInputError, match=re.escape(token)):
            parse_formula(text, variables)


def test_python_api_entry_points_refuse_hostile_text(marker, capsys):
    for name, text in payloads(marker).items():
        for entry in (parse_potential, lambda t: get_potential(expression=t), parse_message,
                      lambda t: verify_law([t, "dy"], "(r - 1)**2", 2),
                      lambda t: verify_law(["dx", "dy"], t, 2)):
            with pytest.raises(UserInputError):
                entry(text)
    assert not marker.exists()
    assert "PWNED" not in capsys.readouterr().out


def test_an_equations_file_with_a_hostile_expression_is_refused(tmp_path, marker):
    for text in payloads(marker).values():
        path = tmp_path / "equations.json"
        path.write_text(json.dumps({"dim": 2, "messages": [{"expression": text}, {"expression": "dy"}],
                                    "truth": {"potential": "(r - 1)**2"}}))
        with pytest.raises(UserInputError):
            verify_equations_file(path)
        path.write_text(json.dumps({"dim": 2, "messages": [{"expression": "dx"}, {"expression": "dy"}],
                                    "truth": {"potential": text}}))
        with pytest.raises(UserInputError):
            verify_equations_file(path)
    assert not marker.exists()


def _run_cli_subprocess(*args: str, cwd: Path) -> tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "eqlearn", *args], capture_output=True, text=True, cwd=cwd,
                            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, timeout=120)
    return result.returncode, result.stdout, result.stderr


def _run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in this process: what a payload printed or created would show here just the same."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_refused(result: tuple[int, str, str], marker: Path, out: Path | None = None) -> None:
    code, stdout, stderr = result
    assert code == 2, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    assert "PWNED" not in stdout and "PWNED" not in stderr
    assert not marker.exists()
    if out is not None:
        assert not out.exists()


def _hostile_data_file(path: Path, potential: str) -> Path:
    rng = np.random.default_rng(0)
    positions = rng.standard_normal((3, 2, 4, 2))
    np.savez(path, positions=positions, accelerations=rng.standard_normal(positions.shape),
             masses=np.ones((3, 4)), meta=json.dumps({"law": "custom", "potential": potential}))
    return path


def test_the_reported_exploit_runs_nothing(tmp_path):
    """The report: a data file whose metadata names a lambdify payload, opened by `eqlearn discover`."""
    marker = tmp_path / "side_effect_marker"
    evil = _hostile_data_file(tmp_path / "evil.npz", payloads(marker)["lambdify"])
    out = tmp_path / "run"
    result = _run_cli_subprocess("discover", "--data", str(evil), "--potential", "(r-1)**2", "--out", str(out),
                                 cwd=tmp_path)
    _assert_refused(result, marker, out)


@pytest.mark.parametrize("kind", ["dunder import", "lambdify", "exec", "print", "attribute no dunder", "lambda",
                                  "f-string", "deep unary", "huge power"])
def test_cli_entry_points_refuse_hostile_text(tmp_path, capsys, kind):
    marker = tmp_path / "side_effect_marker"
    text = payloads(marker)[kind]
    out = tmp_path / "run"
    evil = _hostile_data_file(tmp_path / "evil.npz", text)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"potential": text, "out": str(out)}))
    attempts = [
        ("discover", "--potential", text, "--out", str(out)),
        ("discover", "--data", str(evil), "--potential", "(r - 1)**2", "--out", str(out)),
        ("discover", "--data", str(evil), "--out", str(out)),
        ("discover", "--config", str(config)),
        ("simulate", "--potential", text, "--sims", "2", "--steps", "2", "--out", str(tmp_path / "sim.npz")),
        ("sweep", "--potential", text, "--out", str(out)),
        ("compare", "--potential", text, "--out", str(out)),
    ]
    for arguments in attempts:
        _assert_refused(_run_cli(capsys, *arguments), marker, out)
    assert not (tmp_path / "sim.npz").exists()


def test_regress_refuses_a_hostile_column_name(tmp_path, capsys):
    marker = tmp_path / "side_effect_marker"
    table = tmp_path / "table.csv"
    name = payloads(marker)["dunder import"].replace(",", " ")
    rows = "\n".join(f"{x},{2 * x}" for x in np.linspace(1, 2, 20))
    table.write_text(f"\"{name}\",y\n{rows}\n")
    _assert_refused(_run_cli(capsys, "regress", str(table), "--target", "y", "--out", str(tmp_path / "formula.json")),
                    marker)
    assert not (tmp_path / "formula.json").exists()


def test_no_evaluating_parser_in_the_source():
    """Only the whitelist parser turns text into formulas: no sympify, parse_expr, eval or exec in src/."""
    forbidden = re.compile(r"sympify\(|parse_expr\(|(?<![.\w])eval\(|(?<![.\w])exec\(")
    offenders = [f"{path.relative_to(SRC)}:{number}: {line.strip()}"
                 for path in SRC.rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if forbidden.search(line) and not line.lstrip().startswith(("#", '"', "`"))]
    allowed = [o for o in offenders if o.startswith("eqlearn/vocabulary/formula.py")]
    assert offenders == allowed and not allowed, offenders


LEGITIMATE = [
    *(law.expression for law in LAWS.values()),
    "(r - 1)**2", "-m1*m2/r**1.5", "q1*q2/r - m1*m2/r", "m1*m2*(r - 2)**2", "exp(-r**2)", "m1*m2*(r - 1)**4",
    "q1*q2/r**2", "q1*q2*exp(-r)/r", "-m1*m2*exp(-2*r)/r", "(1 - exp(-(r - 1.5)))**2", "m1*m2*log(r)",
    "Piecewise((0, r < 2), ((r - 1)**2, True))", "Piecewise((q1*q2/r, r < 3), (q1*q2/3, True))",
    "4*((1/r)**12 - (1/r)**6)", "1.69e5*exp(-27.3*r) - 1.02e-2/r**6", "r**(-9)", "0.5*tanh(5*r) + 0.5",
    "-0.0555*dx*m1**0.936*m2**0.974/(-0.01*r**1.95 + r**2.95) - 0.2225*dx*m1**0.984*m2**0.993/(-0.01*r**1.98 + r**2.98)",
    "-dx*m1*m2/(r**3 - 0.01*r**2)", "E*pi*sqrt(r)*Abs(dx)*sign(dy)", "Heaviside(r - 2)*(r - 1)",
    "x**(-3/2)", "1/2*r", "r/2/m1*3", "2 - r + 3*r - 1/r", "-x**2", "2**-1*r", "3*(2*r)**2",
]


@pytest.mark.parametrize("text", LEGITIMATE)
def test_legitimate_formulas_parse_to_the_same_expression_as_before(text):
    """The reference is sympy's own parser, here in the test only, on our own known-good text."""
    variables = {**NAMESPACE, "x": sympy.Symbol("x")}
    reference = sympy.parse_expr(text, local_dict=dict(variables))
    assert sympy.srepr(parse_formula(text, variables)) == sympy.srepr(reference)


def test_benchmark_potentials_parse_to_the_same_expression_as_before():
    """Every potential the benchmarks' law sets name (benchmarks/discover_sweep.py)."""
    sys.path.insert(0, str(SRC.parent / "benchmarks"))
    try:
        import discover_sweep
    finally:
        sys.path.pop(0)
    potentials = {p for group in discover_sweep.SETS.values() for p in group if p not in LAWS}
    assert potentials
    symbols = dict(zip(("r", "m1", "m2", "q1", "q2"), sympy.symbols("r m1 m2 q1 q2", real=True)))
    for text in potentials:
        assert sympy.srepr(parse_potential(text)) == sympy.srepr(sympy.parse_expr(text, local_dict=dict(symbols)))
