"""Data sets on disk: one `.npz` per simulation run, written atomically; splits by simulation."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from eqlearn.errors import UserInputError
from eqlearn.physics.simulator import Trajectories

ARRAYS = ("positions", "velocities", "accelerations", "masses", "charges", "times")


def check_output_path(path) -> Path:
    """`path` as a Path, or a UserInputError before any work if its directory does not exist."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UserInputError(f"cannot write {path}: directory {directory} does not exist")
    return path


@contextmanager
def atomic_output(path):
    """Yield a temporary file in `path`'s directory; it replaces `path` only if the block succeeds,
    so an interrupted write never leaves a half-written file behind."""
    path = check_output_path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def save_dataset(path, trajectories: Trajectories) -> None:
    """Write every array and the meta (as a JSON string) to one `.npz` at `path`."""
    arrays = {name: getattr(trajectories, name) for name in ARRAYS}
    with atomic_output(path) as file:
        np.savez(file, meta=np.array(json.dumps(trajectories.meta)), **arrays)


def load_dataset(path) -> Trajectories:
    """The trajectories saved at `path`, or a UserInputError saying why they cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no data set at {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
        meta = json.loads(str(contents.get("meta", "{}")))
    except (OSError, ValueError, AttributeError, TypeError, zipfile.BadZipFile):
        raise UserInputError(f"{path} is not an eqlearn data set (.npz)") from None
    missing = [name for name in (*ARRAYS, "meta") if name not in contents]
    if missing:
        raise UserInputError(f"{path} is not an eqlearn data set: it lacks {', '.join(missing)}")
    arrays = {name: contents[name] for name in ARRAYS}
    return Trajectories(meta=meta, **arrays)


def split_by_simulation(trajectories: Trajectories, fractions=(0.8, 0.1, 0.1), seed: int = 0):
    """(train, validation, test) holding disjoint whole simulations, shuffled with `seed`.

    Never split by time: neighbouring states of one trajectory are nearly the same sample.
    """
    fractions = np.asarray(fractions, dtype=float)
    if fractions.shape != (3,) or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1):
        raise UserInputError(f"split fractions {tuple(fractions)} must be three numbers >= 0"
                             " that sum to 1")
    order = np.random.default_rng(seed).permutation(len(trajectories))
    train_end, validation_end = np.round(np.cumsum(fractions[:2]) * len(order)).astype(int)
    return tuple(trajectories.select(np.sort(part)) for part in
                 (order[:train_end], order[train_end:validation_end], order[validation_end:]))
