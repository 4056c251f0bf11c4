"""The run directory: never overwritten, created once the data are good, and its per-epoch table.
"""
from __future__ import annotations

import csv
from pathlib import Path

from eqlearn.errors import UserInputError

#: What a run writes first (the resolved config, the per-epoch table and checkpoint, the candidates'
#: folder); equations.json comes last, so a folder with these and without it holds a run that stopped.
RUN_STARTED = ("config.json", "metrics.csv", "checkpoint.pt", "restarts")


def refuse_nonempty(path: Path) -> None:
    """A run never overwrites: an existing `path` that holds files is an error, which says whether
    they are a finished run, one that stopped before the end (a kill, Ctrl-C, a failure) or
    something else, and what to do."""
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return
    if path.is_dir() and not (path / "equations.json").exists() and any((path / name).exists() for name in RUN_STARTED):
        raise UserInputError(f"{path} holds an incomplete run (it stopped before writing equations.json); to start "
                             f"over, delete {path} or choose a new --out")
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
