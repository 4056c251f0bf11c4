"""Data sets on disk: one `.npz` per run (written atomically) or a long-form CSV; splits by simulation."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from eqlearn.errors import UserInputError
from eqlearn.physics.csv_table import read_long_csv
from eqlearn.physics.derivatives import complete_derivatives
from eqlearn.physics.simulator import Trajectories
from eqlearn.vocabulary.files import atomic_output
from eqlearn.vocabulary.periodic import orthorhombic_lengths

ARRAYS = ("positions", "velocities", "accelerations", "masses", "charges", "times")
#: Per-particle labels a data file may carry, [n] strings each: names, and species (molecular dynamics).
LABELS = ("names", "types")
#: Every data file needs positions; without accelerations it also needs times, from which
#: accelerations (and missing velocities) are estimated (`eqlearn.physics.derivatives`).
REQUIRED = ("positions",)


def save_dataset(path, trajectories: Trajectories, metadata: bool = True) -> None:
    """Write every array present, the periodic box, the particle names and types, the softening and
    (unless `metadata` is False: a file that says nothing about the law) the meta as a JSON string
    to one `.npz` at `path`."""
    arrays = {name: getattr(trajectories, name) for name in ARRAYS if getattr(trajectories, name) is not None}
    if trajectories.box is not None:
        arrays["box"] = np.asarray(trajectories.box)
    for labels in LABELS:
        if getattr(trajectories, labels) is not None:
            arrays[labels] = np.array([str(label) for label in getattr(trajectories, labels)])
    arrays["softening"] = np.array(trajectories.softening)
    if metadata:
        arrays["meta"] = np.array(json.dumps(trajectories.meta))
    with atomic_output(path) as file:
        np.savez(file, **arrays)


def load_dataset(path) -> Trajectories:
    """The trajectories saved at `path` (an `.npz`, a `.csv` in long form: `csv_table`, or any
    molecular dynamics file that ASE or MDAnalysis read: `md_files`), or a UserInputError saying
    why they cannot be used (`read_dataset`), with their derivatives completed.

    Only positions [S, T, n, d] are required, and times [T] or [S, T] when accelerations
    [S, T, n, d] are absent: then accelerations, and velocities if absent, are estimated from the
    positions and `meta["derivatives"]` says how and how well. Velocities, masses and charges
    [S, n], particle names and types [n], a periodic box ([d], [S, d] or [S, T, d] edge lengths)
    and the softening (a number) are optional and checked when present.
    """
    trajectories = read_dataset(path)
    try:
        return complete_derivatives(trajectories)
    except UserInputError as error:
        raise UserInputError(f"{path}: {error}") from None


def read_dataset(path, topology=None) -> Trajectories:
    """The trajectories at `path` as stored, every array checked, nothing estimated (`load_dataset`);
    `topology`: the file that names the particles of a molecular dynamics trajectory (MDAnalysis)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no data set at {path}")
    if topology is not None and not Path(topology).is_file():
        raise UserInputError(f"no topology file at {topology}")
    contents, meta = read_contents(path, topology)
    missing = [name for name in REQUIRED if name not in contents]
    if missing:
        raise UserInputError(f"{path} lacks {', '.join(missing)} (a data file needs {', '.join(REQUIRED)})")
    if "accelerations" not in contents and "times" not in contents:
        raise UserInputError(f"{path} has neither accelerations nor the times to estimate them from positions")
    arrays = {name: _checked_array(path, name, contents.get(name), contents["positions"]) for name in ARRAYS}
    softening = contents.get("softening", np.array(0.0))
    if np.shape(softening) != () or not np.isfinite(softening) or softening < 0:
        raise UserInputError(f"{path}: softening must be one number >= 0, got {softening!r}")
    labels = {name: _checked_labels(path, name, contents.get(name), arrays["positions"]) for name in LABELS}
    return Trajectories(meta=meta, softening=float(softening), box=checked_box(path, contents.get("box"), arrays["positions"]),
                        **labels, **arrays)


def read_contents(path: Path, topology=None) -> tuple[dict, dict]:
    """(arrays, meta) of a data file as stored, chosen by its extension: `.npz`, `.csv`, and anything
    else (or anything with a `topology`) through a molecular dynamics reader (the `md` extra)."""
    suffix = path.suffix.lower()
    if suffix == ".npz" and topology is None:
        return _read_npz(path)
    if suffix == ".csv" and topology is None:
        return read_long_csv(path), {}
    from eqlearn.physics.md_files import read_md_file

    return read_md_file(path, topology)


def _read_npz(path: Path):
    """(arrays, meta) of the `.npz` at `path`."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
        meta = json.loads(str(contents.pop("meta"))) if "meta" in contents else {}
    except (OSError, ValueError, AttributeError, TypeError, zipfile.BadZipFile):
        raise UserInputError(f"{path} is not a readable .npz data set") from None
    return contents, meta if isinstance(meta, dict) else {}


def _checked_array(path: Path, name: str, value, positions: np.ndarray):
    """`value` as a float array of the shape `name` must have given the positions, or a clear error."""
    if value is None:
        return None
    if positions.ndim != 4:
        raise UserInputError(f"{path}: positions must be [systems, steps, particles, dim], got shape {positions.shape}")
    systems, steps, n, dim = positions.shape
    expected = {"positions": [(systems, steps, n, dim)], "velocities": [(systems, steps, n, dim)],
                "accelerations": [(systems, steps, n, dim)], "masses": [(systems, n)], "charges": [(systems, n)],
                "times": [(steps,), (systems, steps)]}[name]
    if value.shape not in expected:
        raise UserInputError(f"{path}: {name} has shape {value.shape}, expected {' or '.join(map(str, expected))}"
                             f" for positions {positions.shape}")
    if not np.issubdtype(value.dtype, np.number):
        raise UserInputError(f"{path}: {name} is not numeric")
    if not np.all(np.isfinite(value)):
        raise UserInputError(f"{path}: {name} holds NaN or infinite values")
    if n < 2:
        raise UserInputError(f"{path}: {n} particle(s) per system; a pair force needs at least 2")
    if dim not in (2, 3):
        raise UserInputError(f"{path}: dim = {dim}; only 2-D and 3-D systems are supported")
    if name == "masses" and np.any(value <= 0):
        raise UserInputError(f"{path}: masses must be positive")
    if name == "times" and np.any(np.diff(value, axis=-1) <= 0):
        raise UserInputError(f"{path}: times must be strictly increasing along each trajectory")
    return value


def _checked_labels(path: Path, key: str, labels, positions: np.ndarray) -> list[str] | None:
    """The particle names or types (`key`) as a list of n strings, or None when the file has none."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "US":
        raise UserInputError(f"{path}: {key} must be one list of strings, got shape {labels.shape} of {labels.dtype}")
    if len(labels) != positions.shape[2]:
        raise UserInputError(f"{path}: {len(labels)} {key} for {positions.shape[2]} particles")
    return [str(label) for label in labels]


def checked_box(path: Path, box, positions: np.ndarray) -> np.ndarray | None:
    """A periodic box as float edge lengths [d], [S, d] or [S, T, d], or a clear error. A cell
    matrix [..., d, d] is accepted where it is diagonal (orthorhombic) and refused otherwise."""
    if box is None:
        return None
    box = np.asarray(box)
    systems, steps, _, dim = positions.shape
    lengths = [(dim,), (systems, dim), (systems, steps, dim)]
    if not np.issubdtype(box.dtype, np.number) or not np.all(np.isfinite(box)):
        raise UserInputError(f"{path}: box must hold finite numbers")
    if box.shape not in lengths and box.shape[-2:] == (dim, dim) and box.shape[:-1] in lengths:
        try:
            box = orthorhombic_lengths(box)
        except UserInputError as error:
            raise UserInputError(f"{path}: {error}") from None
    if box.shape not in lengths:
        raise UserInputError(f"{path}: box has shape {box.shape}, expected edge lengths "
                             f"{' or '.join(map(str, lengths))} for positions {positions.shape}")
    if np.any(box <= 0):
        raise UserInputError(f"{path}: the box's edge lengths must be positive")
    return box.astype(np.float64)


#: Train, validation and test shares of every split (by simulation here, by time in `splits`).
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def split_by_simulation(trajectories: Trajectories, fractions=SPLIT_FRACTIONS, seed: int = 0):
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
