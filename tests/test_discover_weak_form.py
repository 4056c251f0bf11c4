"""Discovery from noisy observed positions: the objective chosen from the data, the weak form end to end."""
import json

import pytest

from eqlearn.cli import main
from eqlearn.discovery.config import WEAK_FORM_ABOVE, DiscoverConfig, choose_objective, resolve_config
from eqlearn.discovery.data import data_spec
from eqlearn.discovery.recipes import DataSpec
from eqlearn.errors import UserInputError
from eqlearn.physics import get_potential, load_dataset, save_dataset, simulate, simulate_positions

SPRING = get_potential("spring")


def observed_file(tmp_path, noise: float, name: str = "observed.npz", sims: int = 40):
    """Spring systems observed at a tenth of the law's default spacing, with position noise."""
    path = tmp_path / name
    save_dataset(path, simulate_positions(SPRING, 3, 2, sims, 60, dt=SPRING.default_dt / 10, seed=2, noise=noise))
    return path


def test_the_objective_is_chosen_from_the_data_never_the_law():
    stored = DataSpec(4, 2, times=True)
    noisy = DataSpec(4, 2, times=True, acceleration_error=0.3)
    clean = DataSpec(4, 2, times=True, acceleration_error=1e-4)
    assert choose_objective("auto", stored) == "accelerations" and choose_objective("auto", clean) == "accelerations"
    assert choose_objective("auto", noisy) == "weak" and choose_objective("accelerations", noisy) == "accelerations"
    assert choose_objective("weak", clean) == "weak"
    with pytest.raises(UserInputError, match="times"):
        choose_objective("weak", DataSpec(4, 2))
    with pytest.raises(UserInputError, match="objective"):
        DiscoverConfig(objective="rollout")
    carried = simulate(SPRING, 3, 2, sims=4, steps=10, seed=1)
    assert resolve_config(DiscoverConfig(), data_spec(carried)).objective == "accelerations"


def test_noisy_positions_train_on_weak_targets_and_the_run_records_how(tmp_path, capsys):
    data = observed_file(tmp_path, noise=1e-4, sims=100)
    assert data_spec(load_dataset(data)).acceleration_error > WEAK_FORM_ABOVE  # second differences are not to be trusted
    out = tmp_path / "run"
    assert main(["discover", "--data", str(data), "--out", str(out), "--recipe", "central", "--epochs", "10",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "weak-form targets" in printed and "targets' own noise" in printed
    eq = json.loads((out / "equations.json").read_text())
    objective = eq["objective"]
    assert objective["method"] == "weak-form" and objective["points"] <= 60 and objective["power"] >= 3
    assert objective["position_noise"] == pytest.approx(1e-4, rel=0.3)
    assert json.loads((out / "config.json").read_text())["training"]["objective"] == "weak"  # --config reruns it
    verdict = eq["truth_free"]
    assert verdict["target_noise_error"] < 0.2 and verdict["law_force_error"] < 0.2
    assert eq["verification"]["passed"]  # the spring's form, from 100 short noisy trajectories and ten epochs


def test_the_acceleration_path_can_be_forced_on_the_same_file(tmp_path):
    data = observed_file(tmp_path, noise=1e-4, sims=12)
    out = tmp_path / "run"
    assert main(["discover", "--data", str(data), "--out", str(out), "--recipe", "central", "--epochs", "1",
                 "--objective", "accelerations", "--quiet"]) == 0
    eq = json.loads((out / "equations.json").read_text())
    assert eq["objective"] == {"method": "accelerations"} and "target_noise_error" not in eq["truth_free"]


def test_data_too_noisy_for_any_law_are_said_to_be(tmp_path, capsys):
    data = observed_file(tmp_path, noise=0.05, sims=12)
    out = tmp_path / "run"
    assert main(["discover", "--data", str(data), "--out", str(out), "--recipe", "central", "--epochs", "1",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "NOT TRUSTED" in printed and "too noisy" in printed
    verdict = json.loads((out / "equations.json").read_text())["truth_free"]
    assert not verdict["network_fits_data"] and verdict["target_noise_to_size"] > 0.5
