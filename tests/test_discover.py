"""`eqlearn discover` end to end on tiny budgets: the run directory contract and the error paths."""
import json

import numpy as np
import pytest
import sympy
import torch

from eqlearn.cli import main
from eqlearn.discover import DiscoverConfig, run_discovery
from eqlearn.errors import UserInputError
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.verify import parse_message

TINY = dict(sims=60, steps=2, epochs=2, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def spring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "spring"
    discovery = run_discovery(DiscoverConfig(out=str(out), **TINY), log=lambda _: None)
    return out, discovery


def test_run_directory_contract(spring_run):
    out, discovery = spring_run
    for name in ("config.json", "equations.json", "checkpoint.pt", "metrics.csv",
                 "loss.png", "message_spread.png", "messages_vs_force.png"):
        assert (out / name).is_file(), name
    eq = json.loads((out / "equations.json").read_text())
    assert eq["format"] == "eqlearn.equations/1" and eq["law"] == "spring" and eq["dim"] == 2
    assert eq["variables"] == ["dx", "dy", "r", "m1", "m2", "q1", "q2"]
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


def test_dataset_shape_must_match_flags(tmp_path):
    data = tmp_path / "data.npz"
    save_dataset(data, simulate(get_potential("spring"), 4, 3, sims=4, steps=2))
    with pytest.raises(UserInputError, match="dim=3"):
        run_discovery(DiscoverConfig(data=str(data), dim=2, out=str(tmp_path / "run"), **TINY), log=lambda _: None)


def test_nan_in_data_is_rejected(tmp_path):
    trajectories = simulate(get_potential("spring"), 4, 2, sims=4, steps=2)
    trajectories.accelerations[0, 0, 0, 0] = np.nan
    data = tmp_path / "nan.npz"
    save_dataset(data, trajectories)
    with pytest.raises(UserInputError, match="NaN"):
        run_discovery(DiscoverConfig(data=str(data), out=str(tmp_path / "run"), **TINY), log=lambda _: None)


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
                 "--batch-size", "64"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "canonical (unrotated) form" in printed and "verifier:" in printed


def test_mlp_node_model_runs_with_many_messages(tmp_path):
    config = DiscoverConfig(node_model="mlp", messages=8, out=str(tmp_path / "run"), **TINY)
    discovery = run_discovery(config, log=lambda _: None)
    assert len(discovery.messages) == 2
    assert 0 <= discovery.nonzero_messages <= 8


def test_default_out_parent_is_created(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a fresh checkout has no runs/ folder
    assert main(["discover", "--quiet", "--epochs", "1", "--sims", "40", "--steps", "2", "--batch-size", "64"]) == 0
    assert (tmp_path / "runs" / "discover" / "equations.json").is_file()


def test_law_is_refitted_and_written_with_the_unit_vector(spring_run):
    out, discovery = spring_run
    eq = json.loads((out / "equations.json").read_text())
    for message in eq["messages"]:
        parse_message(message["refitted"])
        assert 0 <= message["refit_r2"] <= 1 + 1e-9
        readable = {str(s) for s in sympy.sympify(message["unit_vector_form"]).free_symbols}
        assert readable <= {"ux", "uy", "r", "m1", "m2", "q1", "q2"}  # Δ appears only through u
    assert set(eq["readout_verification"]) >= {"form", "r2", "passed"}


def test_without_refit_the_law_is_the_read_out(tmp_path):
    discovery = run_discovery(DiscoverConfig(refit=False, out=str(tmp_path / "run"), **TINY), log=lambda _: None)
    assert all("refitted" not in m for m in discovery.messages)
    assert discovery.verification["r2"] == discovery.readout_verification["r2"]
