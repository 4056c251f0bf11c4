"""benchmarks/noise.py's PySINDy baseline and judging, on tiny files (no training)."""
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pysindy", reason='the PySINDy baseline needs pip install "eqlearn[noise]"')
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import noise  # noqa: E402
import weak_sindy  # noqa: E402
from eqlearn.discovery.config import DiscoverConfig  # noqa: E402
from eqlearn.physics import get_potential  # noqa: E402
from eqlearn.physics.observation import simulate_positions  # noqa: E402


def test_test_function_weights_integrate_by_parts_twice():
    """W'' @ x = ∫ φ'' x dt must equal W @ ẍ = ∫ φ ẍ dt on a smooth trajectory."""
    times = np.linspace(0.0, 2.0, 201)
    x, acceleration = np.sin(3 * times), -9 * np.sin(3 * times)
    integral, second = weak_sindy.test_function_weights(times, 0.25, seed=0)
    assert integral.shape == second.shape == (weak_sindy.WINDOWS, len(times))
    np.testing.assert_allclose(second @ x, integral @ acceleration, rtol=1e-3, atol=1e-4 * np.abs(integral @ acceleration).max())


@pytest.mark.parametrize("law, noise_level", [("spring", 0.0), ("r2", 1e-5)])
def test_weak_sindy_finds_the_law_of_observed_positions(law, noise_level):
    potential = get_potential(law)
    observed = simulate_positions(potential, 4, 2, 40, 100, dt=potential.default_dt * 0.1, seed=1, noise=noise_level)
    found = weak_sindy.fit_weak_sindy(observed.positions, observed.times, observed.masses, observed.charges,
                                      observed.softening)
    judged = noise.judge(found.messages(2, observed.softening), potential.expression, 2, observed.softening)
    assert judged["verdict"] == "exact", found.terms
    assert judged["law_error"] < 1e-2


def test_a_wrong_law_fails_and_has_a_law_error():
    spring = get_potential("spring").expression
    wrong = ["dx*m1*m2/r**3", "dy*m1*m2/r**3"]
    assert noise.judge(wrong, spring, 2, 0.01)["verdict"] == "fail"
    assert noise.law_error(wrong, spring, 2, 0.01) > 0.1
    assert noise.law_error(["3*dx*(1 - r)/(r - 0.01)", "3*dy*(1 - r)/(r - 0.01)"], spring, 2, 0.01) < 1e-9


def test_the_weak_objective_runs_exactly_when_discoverconfig_has_it():
    has_objective = "objective" in {f.name for f in dataclasses.fields(DiscoverConfig)}
    assert (noise.objective_options("weak") is not None) == has_objective
    assert noise.objective_options("accelerations") is not None  # today's default path is always there


def test_table_counts_runs_and_finds_the_frontier(tmp_path):
    results = tmp_path / "noise.jsonl"
    verdicts = {0.0: ["exact"] * 5, 1e-4: ["exact"] * 4 + ["fail"], 1e-3: ["exact", "pass", "fail", "fail", "fail"]}
    rows = [{"key": f"k{noise_level}{seed}", "commit": "abc", "case": "positions", "configuration": "toy", "law": "r2",
             "noise": noise_level, "seed": seed, "method": "pysindy", "verdict": verdict, "law_error": 0.1, "seconds": 1.0}
            for noise_level, runs in verdicts.items() for seed, verdict in enumerate(runs)]
    noise.append_rows(results, rows)
    table = noise.write_table(results)
    assert "| r2 | 0.001 | pysindy | 5 | 1 | 2 | 0.1 | 1.0 | abc |" in table
    assert "| r2 | 0.0001 (4/5) |" in table
    assert (tmp_path / "noise.md").read_text() == table


def test_solar_rows_are_judged_by_newton_in_three_dimensions_without_softening():
    newton = [f"-0.000296*m1*m2*d{axis}/r**3" for axis in "xyz"]
    assert noise.judge(newton, noise.NEWTON, 3, 0.0)["verdict"] == "exact"
    almost = [f"-0.000296*m1*m2*d{axis}/r**3.06" for axis in "xyz"]
    assert noise.judge(almost, noise.NEWTON, 3, 0.0)["verdict"] != "exact"
