"""The samples training compares with the data: graphs of single states, or weak-form windows.

`DiscoverConfig.objective` (resolved from the data by `config.choose_objective`) says which.
With "accelerations" every stored state is one (`GraphSet`); with "weak" every window of
consecutive states is one (`WindowSet`), its target read from the positions by the weak form
(`physics.weak_form`), the windows chosen from the data's sampling and estimated noise. Everything
downstream (training, refit, polish, verdict) compares the model's samples with the data's through
the same two calls, `predict` and `average`, so it runs unchanged on either.
"""
from __future__ import annotations

import numpy as np
import torch

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.data import split_data, splits_by_time
from eqlearn.gnn.particles import MomentumEstimate, masses_from_momentum
from eqlearn.gnn.training import GraphSet
from eqlearn.gnn.windows import WindowSet
from eqlearn.physics.scales import DataUnits
from eqlearn.physics.weak_form import choose_windows, median_acceleration, momentum_targets

#: Windows per training batch at least, however long the windows (a batch's relative-error floor
#: is the median of its forces).
MIN_WINDOWS_PER_BATCH = 8
#: Training windows hold at most this many times `max_graphs` states: a noisy run's information is
#: in its long windows, and the whole of a 500-system file's (twice the graphs the acceleration path
#: trains on) keeps its training time within 2x.
WINDOW_STATES = 2


def typical_acceleration(objective: str, trajectories) -> float | None:
    """The typical |a| the run's time unit is chosen from where the data's own accelerations are not
    to be believed (weak form: noisy positions; the weak targets' median), else None."""
    if objective != "weak":
        return None
    return median_acceleration(trajectories.continuous_positions, trajectories.system_times)


def run_samples(config: DiscoverConfig, trajectories, units: DataUnits = DataUnits()):
    """((train, validation, test) trajectories, their samples, the objective as equations.json
    records it) for `trajectories` (in the run's `units`)."""
    if config.objective != "weak":
        splits = split_data(trajectories, config)
        return splits, [GraphSet.from_trajectories(t) for t in splits], {"method": "accelerations"}
    by_time = splits_by_time(trajectories, config)
    # split by time, the windows are chosen first and every split holds whole ones; with windows of
    # at most a quarter of the steps, training keeps at least half of them
    longest = trajectories.positions.shape[1] // 4 if by_time else None
    choice = choose_windows(trajectories.continuous_positions, trajectories.system_times, longest)
    splits = split_data(trajectories, config, block=choice.points if by_time else 1)
    sets = [WindowSet.from_trajectories(t, choice.points, choice.stride, choice.power, choice.position_noise)
            for t in splits]
    record = {**choice.as_dict(), "half_width": choice.half_width * units.time,
              "position_noise": choice.position_noise * units.length, "windows": [len(s) for s in sets]}
    return splits, sets, record


def momentum_estimate(train_set: GraphSet, train_trajectories) -> MomentumEstimate:
    """The mass ratios learned masses start from (momentum conservation): from the data's
    accelerations, or on weak-form windows from weak targets of the training states at every window
    width, in units of their error (`weak_form.momentum_targets`)."""
    if train_set.points == 1:
        return masses_from_momentum(train_trajectories.accelerations)
    return masses_from_momentum(momentum_targets(np.asarray(train_trajectories.continuous_positions, dtype=np.float64),
                                                 np.asarray(train_trajectories.system_times, dtype=np.float64)))


def training_graphs(train_set: GraphSet, config: DiscoverConfig) -> GraphSet:
    """At most `max_graphs` training graphs, or windows holding at most WINDOW_STATES times as many
    states, a seeded random subset of longer data."""
    limit = config.max_graphs if train_set.points == 1 else max(1, WINDOW_STATES * config.max_graphs // train_set.points)
    if len(train_set) <= limit:
        return train_set
    pick = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(config.seed))[:limit]
    return train_set.subset(pick.sort().values)


def batch_size(samples, graphs_per_batch: int) -> int:
    """Samples per batch: `graphs_per_batch` states' worth of windows, at least MIN_WINDOWS_PER_BATCH."""
    if samples.points == 1:
        return graphs_per_batch
    return max(MIN_WINDOWS_PER_BATCH, graphs_per_batch // samples.points)
