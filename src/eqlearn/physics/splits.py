"""Train / validation / test splits by time: for few long trajectories, and for learned masses.

Splitting by simulation (`dataset.split_by_simulation`) needs many systems, and it cannot test
per-system quantities (learned masses) on systems it never trained on. Then every trajectory is cut
into consecutive time blocks instead: the earliest for training, the next for validation, the last
for testing, so the test asks the law to carry on past the times it was fitted on. States are never
shuffled across the cut: neighbouring states are nearly the same sample.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from eqlearn.errors import UserInputError
from eqlearn.physics.dataset import SPLIT_FRACTIONS

#: Fewer systems than this are split by time, not by simulation.
MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION = 10


def split_by_time(trajectories, fractions=SPLIT_FRACTIONS):
    """(train, validation, test): consecutive blocks of every trajectory's stored steps."""
    steps = trajectories.positions.shape[1]
    ends = np.round(np.cumsum(fractions[:2]) * steps).astype(int)
    if ends[0] < 1 or ends[1] <= ends[0] or ends[1] >= steps:
        raise UserInputError(f"{steps} stored steps are too few to split by time into train, validation and test")
    return tuple(_time_block(trajectories, block) for block in (slice(0, ends[0]), slice(ends[0], ends[1]), slice(ends[1], steps)))


def _time_block(trajectories, block: slice):
    """The stored steps in `block` of every system; per-system arrays (masses, charges, a box per
    system) unchanged."""
    cut = lambda a: None if a is None else a[:, block]
    times = trajectories.times
    if times is not None:
        times = times[..., block]
    box = trajectories.box
    if box is not None and np.ndim(box) == 3:
        box = box[:, block]
    return replace(trajectories, positions=trajectories.positions[:, block], velocities=cut(trajectories.velocities),
                   accelerations=cut(trajectories.accelerations), times=times, box=box)
