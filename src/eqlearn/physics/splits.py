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


def split_by_time(trajectories, fractions=SPLIT_FRACTIONS, block: int = 1):
    """(train, validation, test): consecutive blocks of every trajectory's stored steps, each a whole
    number of `block` steps (weak-form windows: every window then lies in one split), at least one
    block each and training at least half; steps past the last whole block go to the test."""
    steps = trajectories.positions.shape[1]
    blocks = steps // block
    held_out = [max(1, round(f * blocks)) for f in fractions[1:3]]
    if blocks - sum(held_out) < sum(held_out):
        raise UserInputError(f"{steps} stored steps are too few to split by time into train, validation and test"
                             + (f" blocks of {block} steps" if block > 1 else ""))
    ends = np.cumsum([blocks - sum(held_out), held_out[0]]) * block
    return tuple(_time_block(trajectories, part) for part in (slice(0, ends[0]), slice(ends[0], ends[1]), slice(ends[1], steps)))


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
