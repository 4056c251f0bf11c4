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
) -> History:
    """Run `phases` in order; `batches()` yields one epoch of batches (re-called every epoch).

    After every epoch the metrics (mean over batches, plus `validate()`) go to `history` and to
    `on_epoch` (e.g. for checkpoints). A NaN/inf loss, or one `divergence_factor` times the first
    epoch's, restores the last good weights and raises `TrainingDiverged`.

    `undo_spoiling_prune`: a pruning round whose phase ends with a loss more than this factor above
    the loss before it took away part of the fit, not spurious terms (weights that are small only
    because the data's scales make the law's coefficients small). The weights before the round come
    back, the rest of the schedule runs without pruning, and `history.undone_prunes` says so.
    """
    history = History()
    good_state = _snapshot(model)
    reference_loss = None
    total_epochs = sum(p.epochs for p in phases)
    bar = tqdm(total=total_epochs, disable=not progress, file=sys.stderr, unit="epoch", dynamic_ncols=True)
    epoch = 0
    pruning = True
    try:
        for phase in phases:
            before_pruning = None
            if phase.prune_threshold is not None and pruning:
                if undo_spoiling_prune is not None and history.rows:
                    prune(model, 0.0)  # fold any gates first: the state to come back to is then a plain one
                    before_pruning = (_snapshot(model), history.last.get("loss"))
                prune(model, phase.prune_threshold)
                good_state = _snapshot(model)
            epoch_batches = list(batches())
            trained = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith(phase.frozen or ("\0",))]
            optimizer = _make_optimizer(phase.optimizer, trained, phase.lr)
            steps_left = phase.epochs * len(epoch_batches)
            scheduler = _make_schedule(phase.schedule, optimizer, phase.lr, steps_left)
            for _ in range(phase.epochs):
                model.train()
                sums, count = {}, 0
                for batch in epoch_batches:
                    loss, metrics = objective(batch, phase.regularization)
                    if not torch.isfinite(loss):
                        raise TrainingDiverged(f"loss became {loss.item()} in epoch {epoch + 1} ({phase.name})")
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    if scheduler is not None and steps_left > 1:
                        scheduler.step()
                        steps_left -= 1
                    for key, value in metrics.items():
                        sums[key] = sums.get(key, 0.0) + float(value)
                    count += 1
                epoch_batches = list(batches())
                row = {"epoch": epoch + 1, "phase": phase.name, **{k: v / max(count, 1) for k, v in sums.items()}}
                if validate is not None:
                    model.eval()
                    with torch.no_grad():
                        row.update(validate())
                epoch += 1
                _check_divergence(row, reference_loss, divergence_factor)
                reference_loss = reference_loss if reference_loss is not None else row.get("loss")
                good_state = _snapshot(model)
                history.log(**row)
                if on_epoch is not None:
                    on_epoch(row)
                bar.set_postfix({k: _short(v) for k, v in row.items() if k not in ("epoch", "phase")}, refresh=False)
                bar.update(1)
            if before_pruning is not None and _spoiled(before_pruning[1], history.last.get("loss"), undo_spoiling_prune):
                model.load_state_dict(before_pruning[0])
                good_state, pruning = before_pruning[0], False
                history.undone_prunes.append(phase.prune_threshold)
    except TrainingDiverged:
        model.load_state_dict(good_state)
        raise
    finally:
        bar.close()
    return history


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
