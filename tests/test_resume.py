"""A run that survives being killed: checkpoints of the whole training state, --resume, Ctrl-C, and
run directories that say whether they are complete."""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from eqlearn.cli import main
from eqlearn.discovery import stages
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import resume_discovery, run_discovery
from eqlearn.eql.training import Phase, train
from eqlearn.errors import RunInterrupted
from eqlearn.gnn.training import GraphObjective
from eqlearn.sweep import finished_row

SRC = Path(__file__).resolve().parents[1] / "src"
#: A run small enough for a test, trained long enough that a kill lands mid-phase; without the
#: refit no early stop cuts it short.
SMALL = dict(law="spring", n=3, sims=150, steps=4, epochs=4, batch_size=64, progress=False, recipe="central",
             refit=False)
#: 150 systems, 80 % of them training, 4 states each, in batches of 64.
STEPS_PER_EPOCH = 8


def _phases() -> list[Phase]:
    return [Phase(4, 1e-2, 1.0, name="sparsify"), Phase(3, 3e-3, 0.0, prune_threshold=0.05, name="prune"),
            Phase(2, 1e-3, 0.0, schedule="constant", name="fine-tune")]


def _fit(kill_after_steps: int | None = None, resume: dict | None = None, weights: dict | None = None):
    """A tiny regression through the training loop; (weights, rows, last checkpoint) or a kill."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    if weights is not None:
        model.load_state_dict(weights)
    x = torch.randn(256, 3, generator=torch.Generator().manual_seed(1))
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    generator = torch.Generator().manual_seed(2)
    if resume is not None:
        generator.set_state(resume["generator"])
    steps, saved = [0], {}

    def objective(batch, regularization):
        steps[0] += 1
        if steps[0] == kill_after_steps:
            raise KeyboardInterrupt
        loss = ((model(x[batch]) - y[batch]) ** 2).mean() + regularization * 1e-3 * model.weight.abs().sum()
        return loss, {"loss": loss.item()}

    def checkpoint(state):  # a copy, as torch.save would write it: the optimiser's tensors change in place
        saved.update(state=copy.deepcopy(state), weights=copy.deepcopy(model.state_dict()), generator=generator.get_state())

    batches = lambda: list(torch.randperm(256, generator=generator).split(32))
    try:
        history = train(model, objective, batches, _phases(), progress=False, checkpoint=checkpoint,
                        resume=None if resume is None else resume["state"])
    except KeyboardInterrupt:
        return None, None, saved
    return model.state_dict(), history.rows, saved


def test_the_loop_continues_from_a_checkpoint_as_if_never_stopped():
    weights, rows, _ = _fit()
    for kill in (13, 40, 57):  # mid sparsify phase, just after the pruning round, in fine-tuning
        _, _, saved = _fit(kill_after_steps=kill)
        resumed, resumed_rows, _ = _fit(resume=saved, weights=saved["weights"])
        assert resumed_rows == rows
        assert all(torch.equal(resumed[k], weights[k]) for k in weights)


def _kill_after(monkeypatch, steps: int) -> None:
    """Ctrl-C after `steps` optimiser steps of training."""
    calls = [0]
    original = GraphObjective.__call__

    def counted(self, batch, regularization):
        calls[0] += 1
        if calls[0] > steps:
            raise KeyboardInterrupt
        return original(self, batch, regularization)

    monkeypatch.setattr(GraphObjective, "__call__", counted)


def test_a_run_killed_mid_training_resumes_to_the_uninterrupted_law(tmp_path, monkeypatch):
    whole = run_discovery(DiscoverConfig(out=str(tmp_path / "whole"), **SMALL), log=lambda _: None)
    with monkeypatch.context() as patch:
        _kill_after(patch, STEPS_PER_EPOCH + 3)  # in the second epoch
        with pytest.raises(RunInterrupted, match=r"checkpoint after epoch 1 .*--resume --out"):
            run_discovery(DiscoverConfig(out=str(tmp_path / "killed"), **SMALL), log=lambda _: None)
    assert not (tmp_path / "killed" / "equations.json").exists()
    resumed = resume_discovery(tmp_path / "killed", log=lambda _: None)
    assert [m["expression"] for m in resumed.messages] == [m["expression"] for m in whole.messages]
    assert resumed.canonical == whole.canonical
    table = (tmp_path / "killed" / "metrics.csv").read_text()
    assert table == (tmp_path / "whole" / "metrics.csv").read_text()  # every epoch once, the same numbers
    assert [int(line.split(",")[0]) for line in table.splitlines()[1:]] == list(range(1, 8))  # 4 + 1 + 1 + 1


def test_finished_candidates_are_read_back_not_trained_again(tmp_path, monkeypatch):
    config = DiscoverConfig(out=str(tmp_path / "run"), **{**SMALL, "recipe": "auto", "epochs": 1})
    trained = []
    original = stages.train_model

    def recorded(run, log, resume=False):
        trained.append(run.config.recipe)
        return original(run, log, resume)

    monkeypatch.setattr(stages, "train_model", recorded)
    with monkeypatch.context() as patch:
        _kill_after(patch, STEPS_PER_EPOCH * 4 + 2)  # central's four epochs, then into screened's first
        with pytest.raises(RunInterrupted):
            run_discovery(config, log=lambda _: None, workers=1)
    assert trained == ["central", "screened"]
    candidates = tmp_path / "run" / "restarts"
    assert (candidates / "central" / "equations.json").is_file()
    assert not (candidates / "screened" / "equations.json").exists()
    before = (candidates / "central" / "equations.json").stat().st_mtime_ns
    trained.clear()
    discovery = resume_discovery(tmp_path / "run", log=lambda _: None, workers=1)
    assert trained[0] == "screened"
    assert (candidates / "central" / "equations.json").stat().st_mtime_ns == before
    assert [c["recipe"] for c in discovery.restarts][:2] == ["central", "screened"]


def test_a_half_written_run_is_never_taken_for_a_result(tmp_path, capsys):
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.json").write_text(DiscoverConfig(out=str(half)).to_json())
    (half / "metrics.csv").write_text("epoch,phase,loss\n1,sparsify,0.5\n")
    assert main(["discover", "--config", str(half / "config.json"), "--out", str(tmp_path / "again")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "killed midway" in error and f"--resume --out {half}" in error
    assert not (tmp_path / "again").exists()
    # a sweep's row says the run found a law, but the run's equations.json is missing: not a result
    (half / "row.json").write_text(json.dumps({"key": "k", "row": {"error": None, "law": "x"}}))
    assert finished_row(half, "k") is None
    (half / "equations.json").write_text("{}")
    assert finished_row(half, "k") == {"error": None, "law": "x"}
    # and a complete run is not resumed
    assert main(["discover", "--resume", "--out", str(half)]) == 2
    assert "complete run already" in capsys.readouterr().err


@pytest.mark.parametrize("recipe", ["central", "auto"])
def test_ctrl_c_stops_with_one_line_that_says_how_to_resume(tmp_path, recipe):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "eqlearn", "discover", "--law", "spring", "--n", "3", "--sims", "150",
               "--steps", "4", "--epochs", "5000", "--no-refit", "--recipe", recipe, "--workers", "2",
               "--quiet", "--out", str(out)]
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    table = out / ("restarts/central/metrics.csv" if recipe == "auto" else "metrics.csv")
    deadline = time.monotonic() + 240
    while not (table.is_file() and len(table.read_text().splitlines()) > 2) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 130
    last = error.strip().splitlines()[-1]
    assert "Traceback" not in error and last.startswith("interrupted: ")
    assert f"eqlearn discover --resume --out {out}" in last
    assert "checkpoint after epoch" in last


class _ProcessThatIsInterruptedWhileStarting:
    """Stands for a candidate's process: Ctrl-C arrives while it is being started."""

    pid = None

    def start(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal is delivered meanwhile
        self.pid = 12345


def test_ctrl_c_during_a_candidates_start_is_raised_once_it_has_started():
    from eqlearn.discovery.side_by_side import _start_holding_ctrl_c

    process = _ProcessThatIsInterruptedWhileStarting()
    with pytest.raises(KeyboardInterrupt):
        _start_holding_ctrl_c(process)
    assert process.pid == 12345  # started in full, so the run can stop it
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
