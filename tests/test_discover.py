"""`eqlearn discover` end to end on tiny budgets: the run directory contract and the error paths."""
import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import sympy
import torch

from eqlearn.cli import main
from eqlearn.discovery.config import DiscoverConfig, resolve_config
from eqlearn.discovery.data import data_spec
from eqlearn.discovery.early_stop import is_exact
from eqlearn.discovery.portfolio import RETRY_ABOVE, run_discovery
from eqlearn.discovery.recipes import DEFAULT_RECIPE, candidate_recipes, fallback_recipes
from eqlearn.errors import UserInputError
from eqlearn.physics import get_potential, load_dataset, save_dataset, simulate
from eqlearn.readout.law import formula_size
from eqlearn.readout.verify import parse_message
from eqlearn.vocabulary.formula import parse_formula

TINY = dict(sims=60, steps=2, epochs=2, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def spring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "spring"
    discovery = run_discovery(DiscoverConfig(out=str(out), **TINY), log=lambda _: None)
    return out, discovery


def test_when_no_members_law_explains_the_data_the_fallback_and_second_starts_are_trained(tmp_path):
    """A law that switches off at r = 2 is outside central's and screened's families: after two
    epochs neither explains the data, so `switched` and a second start of each member follow, up to
    the first candidate whose law is exact."""
    discovery = run_discovery(DiscoverConfig(out=str(tmp_path / "run"), law="discontinuous", **TINY), log=lambda _: None)
    restarts = discovery.restarts
    candidates = [(c["recipe"], c["restart"]) for c in restarts]
    assert candidates[:3] == [("central", 0), ("screened", 0), ("switched", 0)]
    assert min(c["law_force_error"] for c in restarts[:2]) > RETRY_ABOVE
    exact = [is_exact(c["law_force_error"]) for c in restarts]
    retries = [("switched", 0), ("central", 1), ("screened", 1)]
    assert candidates[2:] == retries[:retries.index(candidates[2 + exact[2:].index(True)]) + 1 if any(exact[2:]) else 3]


def test_run_directory_contract(spring_run):
    out, discovery = spring_run
    for name in ("config.json", "equations.json", "checkpoint.pt", "metrics.csv",
                 "loss.png", "message_spread.png", "messages_vs_law.png"):
        assert (out / name).is_file(), name
    eq = json.loads((out / "equations.json").read_text())
    assert eq["format"] == "eqlearn.equations/3" and eq["dim"] == 2
    assert eq["truth"]["name"] == "spring" and "law" not in eq and "potential" not in eq  # the truth under truth only
    assert eq["variables"] == ["ux", "uy", "dx", "dy", "dvx", "dvy", "r", "m1", "m2", "q1", "q2"]
    # the found law on top, named by what it is: the force components, never m1/m2 (the masses)
    found = eq["found"]
    assert list(found["law"]) == list(found["latex"]) == ["F_x", "F_y"]
    assert sorted(m["name"] for m in eq["messages"]) == ["F_x", "F_y"]
    assert found["law"] == {m["name"]: m["unit_vector_form"] for m in eq["messages"]}
    assert found["size"] == eq["truth_free"]["law_size"] and found["held_out_error"] == eq["truth_free"]["law_force_error"]
    every = {name: sympy.Symbol(name) for name in eq["variables"]}  # a law uses only the listed variables
    used = set().union(*(parse_formula(text, every).free_symbols for text in found["law"].values()))
    assert {str(s) for s in used} == set(found["variables"])
    # its size is the size of the law as reported, and it is trusted only where the network fitted the data
    # and the law explains them
    assert found["size"] == formula_size([parse_formula(text, every) for text in found["law"].values()])
    assert found["trusted"] == (eq["truth_free"]["network_fits_data"] and eq["truth_free"]["explains_data"])
    assert "coefficient 1" in eq["canonical_normalisation"]
    assert eq["recipe"] in candidate_recipes(DEFAULT_RECIPE) + fallback_recipes(DEFAULT_RECIPE)
    assert eq["truth"]["potential"] == "(r - 1)**2"
    # the default portfolio: every member trained into its own directory, one chosen without the truth
    assert list(candidate_recipes(DEFAULT_RECIPE)) == ["central", "screened"]
    assert sum(c["chosen"] for c in eq["restarts"]) == 1
    assert eq["recipe"] == next(c["recipe"] for c in eq["restarts"] if c["chosen"])
    for c in eq["restarts"]:
        assert (out / "restarts" / f"{c['recipe']}{'-1' if c['restart'] else ''}" / "equations.json").is_file()
    assert set(eq["truth_free"]) >= {"law_force_error", "network_force_error", "explains_data", "candidates",
                                     "law_to_network"}
    assert len(eq["messages"]) == 2 and len(eq["canonical"]) == 2
    stds = [m["std"] for m in eq["messages"]]
    assert stds == sorted(stds, reverse=True)
    for text in [m["expression"] for m in eq["messages"]] + eq["canonical"]:
        parse_message(text)  # only the contract's variables and functions
    assert set(eq["verification"]) >= {"form", "r2", "passed"}


def test_config_reruns_and_checkpoint_is_plain_tensors(spring_run):
    out, discovery = spring_run
    assert DiscoverConfig.from_json((out / "config.json").read_text()) == discovery.config
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert "state_dict" in checkpoint


def test_refuses_to_overwrite_a_run(spring_run):
    out, _ = spring_run
    before = (out / "equations.json").read_text()
    with pytest.raises(UserInputError, match="not empty"):
        run_discovery(DiscoverConfig(out=str(out), **TINY), log=lambda _: None)
    assert (out / "equations.json").read_text() == before


def test_n_and_dim_come_from_the_data_file(tmp_path):
    data = tmp_path / "data.npz"
    save_dataset(data, simulate(get_potential("spring"), 3, 3, sims=20, steps=2))
    discovery = run_discovery(DiscoverConfig(data=str(data), out=str(tmp_path / "run"), recipe="central", **TINY),
                              log=lambda _: None)
    assert (discovery.config.n, discovery.config.dim) == (3, 3) and len(discovery.messages) == 3
    assert list(discovery.found["law"]) == ["F_x", "F_y", "F_z"]


def test_the_default_does_not_depend_on_being_told_the_law(tmp_path):
    """The same data, once simulated with the law named and once as a bare file: one configuration."""
    trajectories = simulate(get_potential("r2"), 4, 2, sims=20, steps=2, seed=3)
    bare = tmp_path / "bare.npz"
    save_dataset(bare, trajectories, metadata=False)
    told = resolve_config(DiscoverConfig(law="r2"), data_spec(trajectories))
    blind = resolve_config(DiscoverConfig(data=str(bare)), data_spec(load_dataset(bare)))
    ignore = {"law", "potential", "data"}
    assert {k: v for k, v in asdict(told).items() if k not in ignore} == \
           {k: v for k, v in asdict(blind).items() if k not in ignore}
    for law in ("spring", "charge", "damped"):  # nor on which law it is
        other = simulate(get_potential(law), 4, 2, sims=20, steps=2, seed=3)
        assert resolve_config(DiscoverConfig(law=law), data_spec(other)) == replace(told, law=law)


def test_a_file_with_only_positions_accelerations_and_masses(tmp_path, capsys):
    trajectories = simulate(get_potential("r2"), 4, 2, sims=40, steps=2)
    data = tmp_path / "bare.npz"
    np.savez(data, positions=trajectories.positions, accelerations=trajectories.accelerations,
             masses=trajectories.masses)
    assert main(["discover", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet", "--epochs", "1",
                 "--recipe", "central"]) == 0
    printed = capsys.readouterr().out
    assert "no ground truth" in printed and "truth-free check" in printed and "law / network error" in printed
    eq = json.loads((tmp_path / "run" / "equations.json").read_text())
    assert eq["verification"] is None and eq["truth"] is None and eq["softening"] == 0.0
    assert eq["truth_free"]["law_force_error"] is not None


def _bad_files(tmp_path):
    good = simulate(get_potential("spring"), 4, 2, sims=4, steps=2)
    arrays = {"positions": good.positions, "accelerations": good.accelerations, "masses": good.masses}
    nan = dict(arrays, accelerations=np.where(np.arange(2) == 0, np.nan, good.accelerations))
    yield "missing", {k: v for k, v in arrays.items() if k != "accelerations"}, "neither accelerations nor the times"
    yield "nan", nan, "NaN"
    yield "shape", dict(arrays, masses=good.masses[:, :3]), "shape"
    yield "one-particle", {"positions": good.positions[:, :, :1], "accelerations": good.accelerations[:, :, :1],
                           "masses": good.masses[:, :1]}, "at least 2"


def test_bad_data_files_exit_2_and_write_nothing(tmp_path, capsys):
    for name, arrays, message in _bad_files(tmp_path):
        data = tmp_path / f"{name}.npz"
        np.savez(data, **arrays)
        out = tmp_path / f"run-{name}"
        assert main(["discover", "--data", str(data), "--out", str(out), "--quiet"]) == 2, name
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1, (name, error)
        assert not out.exists()


def test_a_law_that_contradicts_the_file_is_refused(tmp_path, capsys):
    data = tmp_path / "r2.npz"
    save_dataset(data, simulate(get_potential("r2"), 4, 2, sims=4, steps=2))
    out = tmp_path / "run"
    assert main(["discover", "--data", str(data), "--law", "spring", "--out", str(out), "--quiet"]) == 2
    assert "made with U = -m1*m2/r" in capsys.readouterr().err and not out.exists()
    bare = tmp_path / "bare.npz"
    save_dataset(bare, simulate(get_potential("r2"), 4, 2, sims=4, steps=2), metadata=False)
    assert main(["discover", "--data", str(bare), "--law", "r2", "--out", str(out), "--quiet"]) == 2
    assert "stores no potential" in capsys.readouterr().err and not out.exists()


def test_potentials_that_start_with_a_minus(tmp_path, capsys):
    assert main(["discover", "--potential", "-m1*m2/r", "--out", str(tmp_path / "run"), "--quiet", "--epochs", "1",
                 "--sims", "40", "--steps", "2", "--recipe", "central"]) == 0
    assert "U = -m1*m2/r" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--law", "gravity"], "unknown law"),
    (["--features", "dx,dw"], "unknown edge feature"),
    (["--dim", "4"], "dim"),
])
def test_cli_errors_exit_2(tmp_path, capsys, flags, message):
    code = main(["discover", "--out", str(tmp_path / "run"), "--quiet", "--epochs", "1", "--sims", "10", *flags])
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_prints_the_law(tmp_path, capsys):
    code = main(["discover", "--out", str(tmp_path / "run"), "--quiet", "--epochs", "1", "--sims", "40", "--steps", "2",
                 "--batch-size", "64", "--recipe", "central"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "\nfound: the force on particle 1" in printed and "\n  F_x = " in printed and "\n  F_y = " in printed
    assert "canonical form" in printed and "verifier against the data's own law" in printed
    assert " m1 = " not in printed and " m2 = " not in printed  # messages are not named like the masses


def test_mlp_node_model_runs_with_many_messages(tmp_path):
    config = DiscoverConfig(node_model="mlp", eql_form="free", messages=8, out=str(tmp_path / "run"), recipe="central",
                            **TINY)
    discovery = run_discovery(config, log=lambda _: None)
    assert len(discovery.messages) == 2
    assert 0 <= discovery.nonzero_messages <= 8


def test_default_out_parent_is_created(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a fresh checkout has no runs/ folder
    assert main(["discover", "--quiet", "--epochs", "1", "--sims", "40", "--steps", "2", "--batch-size", "64",
                 "--recipe", "central"]) == 0
    assert (tmp_path / "runs" / "discover" / "equations.json").is_file()


def test_law_is_refitted_and_written_with_the_unit_vector(spring_run):
    out, discovery = spring_run
    eq = json.loads((out / "equations.json").read_text())
    for message in eq["messages"]:
        parse_message(message["refitted"])
        assert message["refit_r2"] <= 1 + 1e-9  # held-out R², negative for a law worse than zero
        readable = {str(s) for s in sympy.sympify(message["unit_vector_form"]).free_symbols}
        # Δ appears only through u, except in laws left as they are (long, or with powers beyond halves)
        kept = sympy.simplify(sympy.sympify(message["unit_vector_form"]) - sympy.sympify(message["refitted"])) == 0
        assert readable <= {"ux", "uy", "dvx", "dvy", "r", "m1", "m2", "q1", "q2"} or kept, message
    assert set(eq["readout_verification"]) >= {"form", "r2", "passed"}


def test_without_refit_the_law_is_the_read_out(tmp_path):
    discovery = run_discovery(DiscoverConfig(refit=False, out=str(tmp_path / "run"), recipe="central", **TINY),
                              log=lambda _: None)
    assert all("refitted" not in m for m in discovery.messages)
    assert discovery.verification["r2"] == discovery.readout_verification["r2"]
