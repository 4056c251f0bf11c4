"""A run's config.json reruns it: `eqlearn discover --config FILE`; bad files are clear errors."""
from __future__ import annotations

import json

import pytest

from eqlearn.cli import main
from eqlearn.discovery.config import CONFIG_FORMAT, DiscoverConfig, section_fields
from eqlearn.errors import UserInputError


def test_a_runs_own_config_reruns_it_to_the_same_law(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["discover", "--law", "spring", "--n", "3", "--sims", "100", "--epochs", "1", "--quiet",
                 "--out", str(first)]) == 0
    assert main(["discover", "--config", str(first / "config.json"), "--quiet", "--out", str(second)]) == 0
    one, two = (json.loads((run / "equations.json").read_text()) for run in (first, second))
    assert one["messages"] == two["messages"] and one["test_loss"] == two["test_loss"]
    assert json.loads((first / "config.json").read_text())["format"] == CONFIG_FORMAT


def test_unknown_keys_and_other_formats_are_refused():
    with pytest.raises(UserInputError, match="unknown key.* epoch;"):
        DiscoverConfig.from_json(json.dumps({"training": {"epoch": 3}}))
    with pytest.raises(UserInputError, match="epochs .belongs in the training section"):
        DiscoverConfig.from_json(json.dumps({"epochs": 3}))
    with pytest.raises(UserInputError, match="format"):
        DiscoverConfig.from_json(json.dumps({"format": "eqlearn.config/99"}))
    with pytest.raises(UserInputError, match="not valid JSON"):
        DiscoverConfig.from_json("{")


def test_a_missing_config_file_is_exit_2(tmp_path, capsys):
    assert main(["discover", "--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "r")]) == 2
    assert "no config file" in capsys.readouterr().err


def test_config_json_is_in_sections_and_a_key_in_the_wrong_section_says_where_it_belongs():
    stored = json.loads(DiscoverConfig(epochs=3).to_json())
    assert set(stored) == {"format", "data", "model", "training", "readout", "run"}
    assert stored["training"]["epochs"] == 3 and "epochs" in section_fields("training")
    assert DiscoverConfig.from_json(json.dumps(stored)) == DiscoverConfig(epochs=3)
    stored["data"]["epochs"] = stored["training"].pop("epochs")
    with pytest.raises(UserInputError, match="epochs .belongs in the training section"):
        DiscoverConfig.from_json(json.dumps(stored))
    with pytest.raises(UserInputError, match="unknown config section"):
        DiscoverConfig.from_json(json.dumps({"optimiser": {}}))


def test_a_flat_config_of_the_first_format_still_reads():
    assert DiscoverConfig.from_json(json.dumps({"format": "eqlearn.config/1", "epochs": 3})) == DiscoverConfig(epochs=3)


def test_every_setting_has_a_discover_flag_that_sets_it():
    from dataclasses import fields

    from eqlearn.cli import parse_arguments
    from eqlearn.cli.discover import discover_config

    values = {"law": "r2", "n": "3", "dim": "3", "sims": "7", "steps": "5", "max_graphs": "9", "softening": "0.01",
              "spread": "2", "cutoff": "3", "graph": "knn 3",
              "recipe": "power-law", "edge_model": "mlp", "eql_form": "free", "node_model": "mlp",
              "variant": "bottleneck", "features": "ux,uy,r", "messages": "8", "units": '{"identity": 2}',
              "depth": "3", "epochs": "2", "batch_size": "16", "lr": "0.5", "message_l1": "0.1",
              "weight_penalty": "0.2", "penalty": "l0", "loss": "log", "objective": "weak", "prune_thresholds": "0.1,0.2",
              "reference_particle": "Sun", "data": "file.npz", "seed": "4", "restarts": "2", "restart": "1", "device": "cpu",
              "out": "elsewhere"}
    argv = ["discover", "--no-antisymmetric", "--learn-masses", "--learn-charges", "--no-refit", "--quiet"]
    for name, text in values.items():
        argv += ["--" + name.replace("_", "-"), text]
    config = discover_config(parse_arguments(argv))
    defaults = DiscoverConfig()
    for f in fields(DiscoverConfig):
        if f.name != "potential":  # one of law / potential
            assert getattr(config, f.name) != getattr(defaults, f.name), f"--{f.name} did not reach the config"
    assert config.units == {"identity": 2} and config.prune_thresholds == [0.1, 0.2] and config.features == ["ux", "uy", "r"]
    assert discover_config(parse_arguments(["discover", "--potential", "-m1*m2/r"])).potential == "-m1*m2/r"


def test_flags_given_with_a_config_file_override_it(tmp_path):
    from eqlearn.cli import parse_arguments
    from eqlearn.cli.discover import discover_config

    path = tmp_path / "config.json"
    path.write_text(DiscoverConfig(epochs=3, law="r2", out="old").to_json())
    config = discover_config(parse_arguments(["discover", "--config", str(path), "--epochs", "5"]))
    assert (config.epochs, config.law, config.out) == (5, "r2", DiscoverConfig.out)


def test_a_bad_flag_value_is_a_usage_error(capsys):
    assert pytest.raises(SystemExit, main, ["discover", "--epochs", "many"]).value.code == 2
    assert "--epochs many" in capsys.readouterr().err


def test_masses_cannot_be_left_unlearned_when_the_data_carry_none():
    from eqlearn.discovery.config import resolve_config
    from eqlearn.discovery.recipes import DataSpec

    with pytest.raises(UserInputError, match="no masses"):
        resolve_config(DiscoverConfig(learn_masses=False), DataSpec(4, 2, masses=False))
    assert resolve_config(DiscoverConfig(), DataSpec(4, 2, masses=False)).learn_masses


def test_a_given_softening_is_in_the_datas_units_and_stored_so(tmp_path):
    from eqlearn.discovery.portfolio import run_discovery
    from eqlearn.physics import get_potential, save_dataset, simulate
    from eqlearn.physics.scales import DataUnits

    data = DataUnits(0.001, 1.0).apply(simulate(get_potential("spring"), 3, 2, sims=60, steps=2))  # lengths x1000
    save_dataset(tmp_path / "far.npz", data)
    run = run_discovery(DiscoverConfig(data=str(tmp_path / "far.npz"), softening=10.0, epochs=1, progress=False,
                                       out=str(tmp_path / "run")), log=lambda _: None)
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["data"]["softening"]
    assert run.units.changed and stored == pytest.approx(10.0)
    assert json.loads((tmp_path / "run" / "equations.json").read_text())["softening"] == pytest.approx(10.0)


def test_small_data_sets_train_for_more_epochs_so_the_optimiser_takes_about_as_many_steps():
    from eqlearn.discovery.config import resolve_config
    from eqlearn.discovery.recipes import DataSpec

    epochs = lambda states, **given: resolve_config(DiscoverConfig(recipe="central", **given),
                                                    DataSpec(4, 2, states=states)).epochs
    assert epochs(20000) == epochs(0) == 30  # 16,000 training graphs: the recipe's own budget
    assert epochs(10000) == 60  # 8,000 training graphs: twice the epochs
    assert epochs(100) == 120  # at most four times
    assert epochs(100, epochs=7) == 7  # a budget the user gives is kept
    assert epochs(10000, batch_size=128) == 30  # the same 8,000 graphs in half-size batches: as many steps
    assert epochs(200, batch_size=4) == 47  # 160 graphs in batches of 4: 40 steps an epoch, 1.56 times
