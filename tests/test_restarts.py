"""Restarts: several initialisations, the law chosen by held-out error and size, never by the truth."""
from __future__ import annotations

import json

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import candidate_configs, choose, run_discovery


def _summary(error, size, network=0.01):
    return {"law_force_error": error, "law_size": size, "network_force_error": network}


def test_the_smallest_held_out_error_wins_and_the_shorter_of_equals():
    assert choose([_summary(0.7, 2), _summary(1e-8, 30)]) == 1
    assert choose([_summary(1.00e-5, 40), _summary(1.05e-5, 12), _summary(1e-2, 5)]) == 1


def test_without_a_law_the_network_error_decides():
    assert choose([_summary(None, None, 0.3), _summary(None, None, 0.1)]) == 1


def test_two_restarts_run_side_by_side_and_are_all_listed(tmp_path):
    config = DiscoverConfig(law="spring", n=3, sims=150, steps=4, epochs=2, restarts=2, out=str(tmp_path / "run"),
                            progress=False, recipe="central")
    discovery = run_discovery(config, log=lambda _: None, engine="process", workers=2)
    equations = json.loads((tmp_path / "run" / "equations.json").read_text())
    assert [r["restart"] for r in equations["restarts"]] == [0, 1]
    assert sum(r["chosen"] for r in equations["restarts"]) == 1
    assert (tmp_path / "run" / "restarts" / "1" / "equations.json").exists()
    assert discovery.config.out == str(tmp_path / "run")
    first, second = (json.loads((tmp_path / "run" / "restarts" / k / "equations.json").read_text()) for k in "01")
    assert first["test_loss"] != second["test_loss"]  # different initialisations, same data


def test_a_portfolio_times_restarts_gives_one_directory_per_recipe_and_initialisation(tmp_path):
    single = candidate_configs(DiscoverConfig(recipe="central", restarts=2, out=str(tmp_path)))
    assert [(c.recipe, c.restart, c.out) for c in single] == [("central", k, str(tmp_path / "restarts" / str(k)))
                                                             for k in range(2)]
    portfolio = candidate_configs(DiscoverConfig(recipe="auto", restarts=2, out=str(tmp_path)))
    assert [(c.recipe, c.restart, c.out.split("/")[-1]) for c in portfolio] == [
        ("central", 0, "central-0"), ("central", 1, "central-1"), ("screened", 0, "screened-0"), ("screened", 1, "screened-1")]
    assert all(c.restarts == 1 for c in single + portfolio)
    assert [c.out.split("/")[-1] for c in candidate_configs(DiscoverConfig(out=str(tmp_path)))] == ["central", "screened"]


def test_no_candidate_after_an_exact_law_is_needed_whichever_finished_first():
    from types import SimpleNamespace

    from eqlearn.discovery.portfolio import needed_until_exact

    law = lambda error: SimpleNamespace(truth_free={"law_force_error": error})
    finished = {1: law(2e-8)}  # the second candidate happened to finish first, with an exact law
    assert needed_until_exact(0, finished) and needed_until_exact(1, finished) and not needed_until_exact(2, finished)
    finished[0] = law(3e-8)  # the first is exact too: only it counts
    assert [i for i in finished if needed_until_exact(i, finished)] == [0]
    assert needed_until_exact(2, {0: law(0.3), 1: law(0.08)})
