"""What a run refuses before any work, and what it says when it stops: degenerate data, a blocked
--out, a diverged training. Each refusal is one line on stderr and exit 2, with nothing written."""
from __future__ import annotations

import numpy as np
import pytest

from eqlearn.cli import main
from eqlearn.eql.training import TrainingDiverged
from eqlearn.physics import get_potential, simulate


@pytest.fixture(scope="module")
def spring():
    return simulate(get_potential("spring"), 4, 2, sims=6, steps=3, seed=1)


DEGENERATE = ("no-force", "duplicate", "one-configuration", "one-time-point", "constant-velocity")


def _degenerate_files(t):
    """(name, arrays, what the one line must say) for data no pair force can be learned from (DEGENERATE)."""
    base = {"positions": t.positions, "accelerations": t.accelerations, "masses": t.masses}
    duplicate = t.positions.copy()
    duplicate[2, 1, 3] = duplicate[2, 1, 0]  # two particles of one state at the same place
    still = np.broadcast_to(t.positions[:1, :1], t.positions.shape).copy()
    times = np.linspace(0.0, 1.0, 12)
    drifting = t.positions[:, :1] + t.velocities[:, :1] * times[None, :, None, None]  # constant velocities
    yield "no-force", {**base, "accelerations": np.zeros_like(t.accelerations)}, "accelerations are all zero"
    yield "duplicate", {**base, "positions": duplicate}, "particles 0 and 3 of system 2 are at the same place at time index 1"
    yield "one-configuration", {**base, "positions": still}, "every state holds the same positions"
    yield "one-time-point", {"positions": t.positions[:, :1], "times": np.array([0.0]), "masses": t.masses}, "1 time point"
    yield "constant-velocity", {"positions": drifting, "times": times, "masses": t.masses}, "negligible"


@pytest.mark.parametrize("case", DEGENERATE)
def test_degenerate_data_are_refused_with_one_line(case, spring, tmp_path, capsys):
    files = {name: (arrays, message) for name, arrays, message in _degenerate_files(spring)}
    assert set(files) == set(DEGENERATE)
    arrays, message = files[case]
    data = tmp_path / "data.npz"
    np.savez(data, **arrays)
    out = tmp_path / "run"
    assert main(["discover", "--data", str(data), "--out", str(out), "--quiet", "--recipe", "central"]) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1, error
    assert not out.exists()


def test_the_same_data_without_the_defect_are_accepted(spring):
    """The checks refuse the defect, not the data: the file they were made from passes them."""
    from eqlearn.discovery.data import refuse_degenerate

    refuse_degenerate(spring, "the spring data")


@pytest.mark.parametrize("left, says", [
    (["config.json", "metrics.csv"], "holds an incomplete run"),
    (["restarts/central/config.json"], "holds an incomplete run"),
    (["config.json", "equations.json"], "holds a finished run"),
    (["notes.txt"], "not empty"),
])
def test_a_blocked_out_says_what_is_there_and_what_to_do(left, says, tmp_path, capsys):
    out = tmp_path / "run"
    for name in left:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("{}")
    assert main(["discover", "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert says in error and len(error.strip().splitlines()) == 1, error
    assert ("delete" in error) == (says == "holds an incomplete run") and "new --out" in error
    assert ("--resume" in error) == (says == "holds an incomplete run")  # an incomplete run can be continued


@pytest.mark.parametrize("epochs_before", [0, 1])
def test_a_divergence_names_only_files_that_exist(epochs_before, monkeypatch, tmp_path, capsys):
    """Training that blows up in its first epoch has written no checkpoint, so none is named."""
    def diverging(*args, on_epoch, checkpoint, **kwargs):
        for epoch in range(epochs_before):
            on_epoch({"epoch": epoch + 1, "phase": "fit", "loss": 1.0})
            checkpoint({"rows": [{"epoch": epoch + 1}]})
        raise TrainingDiverged(f"loss became nan in epoch {epochs_before + 1} (fit)")

    monkeypatch.setattr("eqlearn.discovery.stages.train", diverging)
    out = tmp_path / "run"
    assert main(["discover", "--out", str(out), "--quiet", "--recipe", "central", "--sims", "20", "--steps", "2"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    named = {name for name in ("checkpoint.pt", "metrics.csv", "config.json") if name in error}
    assert named and all((out / name).is_file() for name in named), error
    assert ("checkpoint.pt" in named) == (epochs_before > 0)
