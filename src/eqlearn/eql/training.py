"""One training loop for every model: phases, schedule, divergence guard, progress.

A run is a list of `Phase`s (e.g. a sparsity phase, then prune and fine-tune without penalty).
The model-specific part is an `objective(batch, regularization) -> (loss, metrics)` callable, so
the loop knows nothing about EQLs, graphs or images.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from eqlearn.eql.sparsity import prune

Objective = Callable[[object, float], tuple[torch.Tensor, dict]]


@dataclass
class Phase:
    """`epochs` of training at peak learning rate `lr`; `regularization` scales all penalties.

    `prune_threshold`: before the phase starts, EQL weights below it are frozen at zero.
    `frozen`: parameters whose names start with one of these prefixes are not trained in this phase.
    """

    epochs: int
    lr: float
    regularization: float = 1.0
    optimizer: str = "adam"
    schedule: str = "onecycle"
    prune_threshold: float | None = None
    name: str = "train"
    frozen: tuple[str, ...] = ()


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf or exploded; the model holds the last good weights again."""


@dataclass
class History:
    rows: list[dict] = field(default_factory=list)
    undone_prunes: list[float] = field(default_factory=list)  # thresholds whose pruning was undone

    def log(self, **row) -> None:
        self.rows.append(row)

    @property
    def last(self) -> dict:
        return self.rows[-1] if self.rows else {}


def _make_optimizer(kind: str, params, lr: float) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {kind!r}; choose adam or rmsprop")


def _make_schedule(kind: str, optimizer, lr: float, total_steps: int):
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(total_steps, 2))
    if kind == "constant":
        return None
    raise ValueError(f"unknown schedule {kind!r}; choose onecycle or constant")


@dataclass
class _Loop:
    """Where a run of `train` stands: the phase and epoch, the optimiser's schedule, the pruning
    state and the history; `state()` is what a checkpoint stores, `start(state)` reads it back."""

    history: History
    phase: int = 0
    epochs_in_phase: int = 0
    steps_left: int = 0
    pruning: bool = True
    before_pruning: tuple | None = None  # (weights, loss) before this phase's pruning round
    reference_loss: float | None = None
    stopped: bool = False
    optimizer: dict | None = None
    scheduler: dict | None = None

    @classmethod
    def start(cls, state: dict | None) -> "_Loop":
        if state is None:
            return cls(History())
        before = state["before_pruning"]
        return cls(History(list(state["rows"]), list(state["undone_prunes"])), state["phase"], state["epochs_in_phase"],
                   state["steps_left"], state["pruning"], None if before is None else (before["weights"], before["loss"]),
                   state["reference_loss"], state["stopped"], state["optimizer"], state["scheduler"])

    @property
    def epoch(self) -> int:
        return len(self.history.rows)

    def begin_phase(self, index: int) -> None:
        self.phase, self.epochs_in_phase, self.before_pruning = index, 0, None

    def state(self, optimizer, scheduler, phase_epochs: int) -> dict:
        """Plain containers and tensors only: a checkpoint loads with `torch.load(weights_only=True)`."""
        ended = self.epochs_in_phase >= phase_epochs
        before = None if self.before_pruning is None or ended else \
            {"weights": self.before_pruning[0], "loss": self.before_pruning[1]}
        return {"phase": self.phase + ended, "epochs_in_phase": 0 if ended else self.epochs_in_phase,
                "steps_left": self.steps_left, "pruning": self.pruning, "before_pruning": before,
                "reference_loss": self.reference_loss, "stopped": self.stopped,
                "optimizer": None if ended else optimizer.state_dict(),
                "scheduler": None if ended or scheduler is None else scheduler.state_dict(),
                "rows": list(self.history.rows), "undone_prunes": list(self.history.undone_prunes)}


def train(
    model: nn.Module,
    objective: Objective,
    batches: Callable[[], Iterable],
    phases: list[Phase],
    validate: Callable[[], dict] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool = True,
    divergence_factor: float = 1e4,
    undo_spoiling_prune: float | None = None,
    stop: Callable[[dict], bool] | None = None,
    checkpoint: Callable[[dict], None] | None = None,
    resume: dict | None = None,
) -> History:
    """Run `phases` in order; `batches()` yields one epoch of batches (called at the start of every epoch).

    After every epoch the metrics (mean over batches, plus `validate()`) go to `history` and to
    `on_epoch` (e.g. a table of metrics). A NaN/inf loss, or one `divergence_factor` times the first
    epoch's, restores the last good weights and raises `TrainingDiverged`.

    `undo_spoiling_prune`: a pruning round whose phase ends with a loss more than this factor above
    the loss before it took away part of the fit, not spurious terms (weights that are small only
    because the data's scales make the law's coefficients small). The weights before the round come
    back, the rest of the schedule runs without pruning, and `history.undone_prunes` says so.

    `stop(row)`, asked after every epoch, ends training early when it returns True (it may change
    the model first, e.g. to a pruned copy whose law is exact). `checkpoint(state)` receives,
    after every epoch, everything the loop needs to continue (`loop_state`: the position in the
    schedule, optimiser and scheduler state, the history); `train(..., resume=state)` continues
    from it, with the model's weights and the batches' random generator restored by the caller, so
    that a resumed run trains exactly as an uninterrupted one.
    """
    loop = _Loop.start(resume)
    history = loop.history
    good_state = _snapshot(model)
    total_epochs = sum(p.epochs for p in phases)
    bar = tqdm(total=total_epochs, initial=loop.epoch, disable=not progress, file=sys.stderr, unit="epoch",
               dynamic_ncols=True)
    try:
        for index, phase in enumerate(phases):
            if loop.stopped or index < loop.phase:
                continue
            resumed = loop.phase == index and loop.epochs_in_phase > 0
            if not resumed:
                loop.begin_phase(index)
                if phase.prune_threshold is not None and loop.pruning:
                    if undo_spoiling_prune is not None and history.rows:
                        prune(model, 0.0)  # fold any gates first: the state to come back to is then a plain one
                        loop.before_pruning = (_snapshot(model), history.last.get("loss"))
                    prune(model, phase.prune_threshold)
                    good_state = _snapshot(model)
            epoch_batches = list(batches())
            trained = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith(phase.frozen or ("\0",))]
            optimizer = _make_optimizer(phase.optimizer, trained, phase.lr)
            if not resumed:
                loop.steps_left = phase.epochs * len(epoch_batches)
            scheduler = _make_schedule(phase.schedule, optimizer, phase.lr, loop.steps_left)
            if resumed:
                optimizer.load_state_dict(loop.optimizer)
                if scheduler is not None:
                    scheduler.load_state_dict(loop.scheduler)
            while loop.epochs_in_phase < phase.epochs:
                if loop.epochs_in_phase > 0 and not resumed:
                    epoch_batches = list(batches())
                resumed = False
                row = _train_epoch(model, objective, epoch_batches, phase, optimizer, scheduler, loop)
                if validate is not None:
                    model.eval()
                    with torch.no_grad():
                        row.update(validate())
                _check_divergence(row, loop.reference_loss, divergence_factor)
                loop.reference_loss = loop.reference_loss if loop.reference_loss is not None else row.get("loss")
                good_state = _snapshot(model)
                history.log(**row)
                if on_epoch is not None:
                    on_epoch(row)
                if loop.epochs_in_phase == phase.epochs and loop.before_pruning is not None:
                    before, loss = loop.before_pruning
                    if _spoiled(loss, history.last.get("loss"), undo_spoiling_prune):
                        model.load_state_dict(before)
                        good_state, loop.pruning = before, False
                        history.undone_prunes.append(phase.prune_threshold)
                    loop.before_pruning = None
                loop.stopped = stop is not None and stop(row)
                if checkpoint is not None:
                    checkpoint(loop.state(optimizer, scheduler, phase.epochs))
                bar.set_postfix({k: _short(v) for k, v in row.items() if k not in ("epoch", "phase")}, refresh=False)
                bar.update(1)
                if loop.stopped:
                    break
    except TrainingDiverged:
        model.load_state_dict(good_state)
        raise
    finally:
        bar.close()
    return history


def _train_epoch(model: nn.Module, objective: Objective, epoch_batches: list, phase: Phase, optimizer, scheduler,
                 loop: _Loop) -> dict:
    """One pass over `epoch_batches`; the metrics' means over the batches as the epoch's row."""
    model.train()
    sums, count = {}, 0
    for batch in epoch_batches:
        loss, metrics = objective(batch, phase.regularization)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss.item()} in epoch {loop.epoch + 1} ({phase.name})")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None and loop.steps_left > 1:
            scheduler.step()
            loop.steps_left -= 1
        for key, value in metrics.items():
            sums[key] = sums.get(key, 0.0) + float(value)
        count += 1
    loop.epochs_in_phase += 1
    return {"epoch": loop.epoch + 1, "phase": phase.name, **{k: v / max(count, 1) for k, v in sums.items()}}


def _spoiled(before: float | None, after: float | None, factor: float) -> bool:
    if before is None or after is None:
        return False
    return not math.isfinite(after) or after > factor * max(before, 1e-12)


def _snapshot(model: nn.Module) -> dict:
    """A copy of the weights to fall back on; cheaper than deepcopy, which matters for tiny models."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _check_divergence(row: dict, reference: float | None, factor: float) -> None:
    loss = row.get("loss")
    if loss is None:
        return
    if not math.isfinite(loss):
        raise TrainingDiverged(f"loss became {loss} in epoch {row['epoch']}")
    if reference is not None and loss > factor * max(reference, 1e-12):
        raise TrainingDiverged(f"loss {loss:.3g} in epoch {row['epoch']} exceeds {factor:g}x the first epoch's")


def _short(value):
    return f"{value:.3g}" if isinstance(value, float) else value
