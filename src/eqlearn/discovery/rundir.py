"""The run directory: never overwritten (except by `--resume`, which continues it), created once
the data are good; its per-epoch table and its checkpoint.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.errors import UserInputError
from eqlearn.vocabulary.files import write_text_atomically

if TYPE_CHECKING:
    import torch

#: The weights, the training loop's state and the random generators after the last finished epoch.
CHECKPOINT = "checkpoint.pt"

#: What a run writes first (the resolved config, the per-epoch table and checkpoint, the candidates'
#: folder); equations.json comes last, so a folder with these and without it holds a run that stopped.
RUN_STARTED = ("config.json", "metrics.csv", "checkpoint.pt", "restarts")


def refuse_nonempty(path: Path) -> None:
    """A run never overwrites: an existing `path` that holds files is an error, which says whether
    they are a finished run, one that stopped before the end (a kill, Ctrl-C, a failure) or
    something else, and what to do."""
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return
    if path.is_dir() and unfinished_run(path):
        raise UserInputError(f"{path} holds an incomplete run (it stopped before writing equations.json); continue "
                             f"it with eqlearn discover --resume --out {path}, or to start over, delete it or choose "
                             "a new --out")
    what = "is a file" if not path.is_dir() else "holds a finished run" if (path / "equations.json").exists() \
        else "holds files"
    raise UserInputError(f"{path} already exists and is not empty (it {what}); choose a new --out")


def prepare_output(path: Path) -> Path:
    """Create the run directory (and its parents, e.g. `runs/`); refuse one that already holds
    files, so nothing is overwritten."""
    refuse_nonempty(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"cannot create the run directory {path}: {error}") from None
    return path


def append_csv_row(path: Path, row: dict) -> None:
    """One row of a per-epoch table, the header first where the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def keep_csv_rows(path: Path, count: int) -> None:
    """Cut a per-epoch table back to its first `count` rows (a run killed between writing a row
    and its checkpoint wrote one row more than it can continue from)."""
    if not path.is_file():
        return
    rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    if len(rows) > count + 1:
        text = io.StringIO()
        csv.writer(text).writerows(rows[:count + 1])
        write_text_atomically(path, text.getvalue())


def load_checkpoint(path: Path, trainable: torch.nn.Module, generator: torch.Generator) -> dict | None:
    """The training loop's state (`eqlearn.eql.training.train(resume=...)`) from a run directory's
    checkpoint, with the weights and the random generators restored and metrics.csv cut back to
    the same epoch; None where the run never finished an epoch."""
    if not path.is_file():
        return None
    import torch  # where a run continues: the command line checks its flags without loading torch

    try:
        saved = torch.load(path, weights_only=True)  # data only: a checkpoint never runs code
        trainable.load_state_dict(saved["state_dict"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["training"]
    except (OSError, RuntimeError, KeyError, ValueError) as error:
        raise UserInputError(f"cannot continue from {path}: {error}") from None
    keep_csv_rows(path.parent / "metrics.csv", len(state["rows"]))
    return state


def check_same_settings(out: Path, config: DiscoverConfig) -> None:
    """A run directory is continued only with the settings it was made with (wherever it now lies)."""
    stored = DiscoverConfig.from_json((out / "config.json").read_text())
    differ = [name for name, value in asdict(config).items() if name not in ("out", "progress") and getattr(stored, name) != value]
    if differ:
        raise UserInputError(f"{out} was made with other settings ({', '.join(differ)}); it cannot be continued with these")


def describe_progress(directory: Path) -> str:
    """Where a candidate's directory stands: complete, after epoch k, or not started."""
    if (directory / "equations.json").is_file():
        return "complete"
    table = directory / "metrics.csv"
    epochs = max(0, len(table.read_text().splitlines()) - 1) if table.is_file() else 0
    if (directory / CHECKPOINT).is_file() and epochs:
        return f"checkpoint after epoch {epochs}"
    return "not started"


def unfinished_run(directory: Path, started_by: tuple[str, ...] = RUN_STARTED) -> bool:
    """Whether `directory` is a run that stopped midway: files of a run (`started_by`), but no
    equations.json (written last)."""
    started = any((directory / name).exists() for name in started_by)
    return started and not (directory / "equations.json").is_file()


def read_config_file(path: Path) -> DiscoverConfig:
    """The settings of `--config FILE`; a config.json of a run killed midway is refused (its run has
    no result yet: it is continued with --resume, not rerun as if it were one)."""
    if not path.is_file():
        raise UserInputError(f"no config file at {path}")
    run = path.parent.parent if path.parent.name == "restarts" else path.parent
    if unfinished_run(run, started_by=RUN_STARTED[1:]):  # a config.json alone may be one written by hand
        raise UserInputError(f"{path} belongs to a run killed midway (no equations.json in {run}): continue it with "
                             f"eqlearn discover --resume --out {run}")
    return DiscoverConfig.from_json(path.read_text())
