"""A run's config.json reruns it: `eqlearn discover --config FILE`; bad files are clear errors."""
from __future__ import annotations

import json

import pytest

from eqlearn.cli import main
from eqlearn.errors import UserInputError
from eqlearn.pipeline import CONFIG_FORMAT, DiscoverConfig


def test_a_runs_own_config_reruns_it_to_the_same_law(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["discover", "--law", "spring", "--n", "3", "--sims", "100", "--epochs", "1", "--quiet",
                 "--out", str(first)]) == 0
    assert main(["discover", "--config", str(first / "config.json"), "--quiet", "--out", str(second)]) == 0
    one, two = (json.loads((run / "equations.json").read_text()) for run in (first, second))
    assert one["messages"] == two["messages"] and one["test_loss"] == two["test_loss"]
    assert json.loads((first / "config.json").read_text())["format"] == CONFIG_FORMAT


def test_unknown_keys_and_other_formats_are_refused():
    with pytest.raises(UserInputError, match="unknown config key"):
        DiscoverConfig.from_json(json.dumps({"epoch": 3}))
    with pytest.raises(UserInputError, match="format"):
        DiscoverConfig.from_json(json.dumps({"format": "eqlearn.config/99"}))
    with pytest.raises(UserInputError, match="not valid JSON"):
        DiscoverConfig.from_json("{")


def test_a_missing_config_file_is_exit_2(tmp_path, capsys):
    assert main(["discover", "--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "r")]) == 2
    assert "no config file" in capsys.readouterr().err
