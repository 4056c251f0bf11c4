"""Trajectories from a CSV table in long form: one row per system, time and particle.

Columns `system, t, particle, x, y` and optionally `z` (3-D), `m` (mass) and `q` (charge). A
particle is a name or an integer; every system must hold the same particles at the same number of
time points (each system may have its own times). Masses and charges are per particle and system.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eqlearn.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("system", "t", "particle", "x", "y")


def read_long_csv(path: Path) -> dict:
    """The arrays of a data file (positions [S, T, n, d], times [T] or [S, T], and masses, charges
    [S, n] and names [n] where the table has them) read from the CSV at `path`."""
    import pandas as pd  # imported where used: pandas takes a second to import, and most data are .npz

    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserInputError(f"{path} is not a readable CSV table ({type(error).__name__})") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise UserInputError(f"{path} lacks the columns {', '.join(missing)} (a table needs {', '.join(REQUIRED_COLUMNS)})")
    if table.empty:
        raise UserInputError(f"{path} has no rows")
    if table.duplicated(["system", "t", "particle"]).any():
        raise UserInputError(f"{path} has more than one row for the same system, t and particle")
    systems, particles = _label_order(table["system"]), _label_order(table["particle"])
    _check_rectangular(path, table, particles)
    table = table.assign(system=pd.Categorical(table["system"], systems),
                         particle=pd.Categorical(table["particle"], particles)).sort_values(["system", "t", "particle"])
    shape = (len(systems), -1, len(particles))
    coordinates = [axis for axis in ("x", "y", "z") if axis in table.columns]
    contents = {"positions": _numeric(path, table, coordinates).reshape(*shape, len(coordinates)),
                "times": _shared_or_per_system(_numeric(path, table, ["t"]).reshape(shape)[..., 0])}
    for column, name in (("m", "masses"), ("q", "charges")):
        if column in table.columns:
            contents[name] = _per_particle(path, _numeric(path, table, [column]).reshape(shape), column)
    if not pd.api.types.is_integer_dtype(table["particle"].cat.categories):
        contents["names"] = np.array([str(particle) for particle in particles])
    return contents


def _label_order(column: pd.Series) -> np.ndarray:
    import pandas as pd

    """Integer systems or particles in increasing order; named ones in order of first appearance."""
    unique = np.asarray(pd.unique(column), dtype=object)
    return np.sort(unique) if pd.api.types.is_integer_dtype(column) else unique


def _check_rectangular(path: Path, table: pd.DataFrame, particles: np.ndarray) -> None:
    """Every system has every particle and the same number of time points, each particle at each
    of its system's times: anything else cannot be one array [S, T, n, d]."""
    per_system = table.groupby("system", sort=False)
    particle_sets = per_system["particle"].agg(frozenset)
    if particle_sets.nunique() > 1:
        raise UserInputError(f"{path}: systems hold different particles (every system needs the same ones)")
    time_counts = per_system["t"].nunique()
    if time_counts.nunique() > 1:
        raise UserInputError(f"{path}: systems have different numbers of time points "
                             f"({time_counts.min()} to {time_counts.max()}); every system needs the same number")
    if len(table) != len(time_counts) * time_counts.iloc[0] * len(particles):
        raise UserInputError(f"{path}: some particles lack rows at some of their system's times")


def _numeric(path: Path, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    try:
        return table[columns].to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        raise UserInputError(f"{path}: the columns {', '.join(columns)} must hold numbers") from None


def _shared_or_per_system(times: np.ndarray) -> np.ndarray:
    """times [T] when every system has the same ones, else [S, T]."""
    return times[0] if np.array_equal(times, np.broadcast_to(times[:1], times.shape)) else times


def _per_particle(path: Path, values: np.ndarray, column: str) -> np.ndarray:
    """values [S, T, n] -> [S, n], which must not change over time."""
    if not np.allclose(values, values[:, :1], equal_nan=True):
        raise UserInputError(f"{path}: column {column} changes over time for a particle; it must be constant")
    return values[:, 0]
