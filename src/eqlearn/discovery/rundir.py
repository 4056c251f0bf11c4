"""The run directory: never overwritten, created once the data are good, and its per-epoch table.
"""
from __future__ import annotations

import csv
from pathlib import Path

from eqlearn.errors import UserInputError


def refuse_nonempty(path: Path) -> None:
    """A run never overwrites: an existing `path` that holds files is an error."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserInputError(f"{path} already exists and is not empty; choose a new --out")


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
