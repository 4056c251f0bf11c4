"""Data sets on disk and the `eqlearn simulate` command."""
import json

import numpy as np
import pytest

from eqlearn.cli import main
from eqlearn.errors import UserInputError
from eqlearn.physics import LAWS, load_dataset, save_dataset, simulate, split_by_simulation
from eqlearn.physics.dataset import ARRAYS


@pytest.fixture(scope="module")
def small():
    return simulate(LAWS["charge"], n=3, dim=3, sims=20, steps=10, seed=0)


def test_save_and_load_give_back_the_same_arrays(small, tmp_path):
    path = tmp_path / "data.npz"
    save_dataset(path, small)
    loaded = load_dataset(path)
    for name in ARRAYS:
        assert np.array_equal(getattr(loaded, name), getattr(small, name))
    assert loaded.meta == small.meta
    with np.load(path) as archive:  # readable without eqlearn: plain arrays and a JSON string
        assert json.loads(str(archive["meta"]))["law"] == "charge"
    assert [p.name for p in tmp_path.iterdir()] == ["data.npz"]


def test_an_interrupted_write_leaves_nothing(small, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_dataset(tmp_path / "data.npz", small)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_data_sets_are_user_errors(tmp_path):
    (tmp_path / "text.npz").write_text("not an archive")
    np.savez(tmp_path / "other.npz", x=np.ones(2))
    for name, message in [("missing.npz", "no data set"), ("text.npz", "not a readable .npz"),
                          ("other.npz", "lacks positions")]:
        with pytest.raises(UserInputError, match=message):
            load_dataset(tmp_path / name)
    with pytest.raises(UserInputError, match="does not exist"):
        save_dataset(tmp_path / "no" / "data.npz", simulate(LAWS["spring"], 2, 2, 1, 2))


def test_split_keeps_whole_simulations_apart(small):
    train, validation, test = split_by_simulation(small, (0.6, 0.2, 0.2), seed=1)
    assert (len(train), len(validation), len(test)) == (12, 4, 4)
    systems = [tuple(row) for part in (train, validation, test) for row in part.masses.tolist()]
    assert sorted(systems) == sorted(tuple(row) for row in small.masses.tolist())  # a partition
    assert train.positions.shape[1:] == small.positions.shape[1:]  # every time step kept
    again = split_by_simulation(small, (0.6, 0.2, 0.2), seed=1)[0]
    assert np.array_equal(again.positions, train.positions)
    with pytest.raises(UserInputError, match="sum to 1"):
        split_by_simulation(small, (0.5, 0.2, 0.2))


def test_cli_writes_a_data_set_and_a_plot(tmp_path, capsys):
    out, plot = tmp_path / "d.npz", tmp_path / "d.png"
    status = main(["simulate", "--potential", "q1*q2/r", "--n", "3", "--dim", "3", "--sims", "4",
                   "--steps", "5", "--seed", "2", "--out", str(out), "--plot", str(plot)])
    assert status == 0
    data = load_dataset(out)
    assert data.positions.shape == (4, 5, 3, 3)
    assert data.meta["potential"] == "q1*q2/r" and data.meta["seed"] == 2
    assert set(np.unique(data.charges)) <= {-1.0, 1.0}
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert "written to" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--law", "gravity"], "unknown law"),
    (["--potential", "r + y"], "the name 'y' is unknown"),
    (["--potential", "(r - 1"], "does not parse"),
    (["--law", "spring", "--n", "1"], "at least 2 particles"),
    (["--law", "spring", "--dim", "1"], "2-D and 3-D"),
    (["--law", "spring", "--dt", "0"], "positive"),
    (["--law", "spring", "--plot", "missing/p.png"], "does not exist"),
])
def test_cli_bad_input_is_one_line_and_exit_2(flags, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(["simulate", "--sims", "2", "--steps", "3", "--out", "d.npz", *flags])
    error = capsys.readouterr().err
    assert status == 2
    assert message in error and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_output_in_a_missing_directory_writes_nothing(tmp_path, capsys):
    status = main(["simulate", "--law", "spring", "--sims", "2", "--steps", "3",
                   "--out", str(tmp_path / "missing" / "d.npz")])
    assert status == 2 and "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
