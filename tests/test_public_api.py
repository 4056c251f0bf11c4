"""The names a script imports from `eqlearn` itself."""
from __future__ import annotations

import eqlearn


def test_public_names_resolve():
    from eqlearn import EQLRegressor, discover, get_potential, load_dataset, simulate, verify

    assert callable(discover) and callable(simulate) and callable(verify) and callable(load_dataset)
    assert EQLRegressor().get_params()["device"] == "auto"
    assert get_potential("spring").name == "spring"
    assert set(eqlearn.__all__) >= {"discover", "simulate", "verify", "EQLRegressor"}


def test_discover_from_python_is_the_cli_run(tmp_path):
    from eqlearn import discover

    found = discover(law="spring", n=3, sims=100, epochs=1, out=str(tmp_path / "run"), progress=False)
    assert (tmp_path / "run" / "equations.json").exists()
    from eqlearn.discovery.recipes import DEFAULT_RECIPE, candidate_recipes, fallback_recipes

    assert found.config.law == "spring"
    assert found.config.recipe in candidate_recipes(DEFAULT_RECIPE) + fallback_recipes(DEFAULT_RECIPE)
