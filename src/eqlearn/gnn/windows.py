"""Training samples of the weak form: windows of consecutive states compared with weak targets.

A `WindowSet` plays the part of a `GraphSet` wherever a model's accelerations are compared with
the data (`eqlearn.physics.weak_form`): a window is one sample whose target is the φ-weighted mean
acceleration read from the positions without differentiating them, and whose prediction is the
same φ-weighted mean of the model's accelerations at the window's states (`average`). The
net-force losses then apply unchanged: masses are constant over a window, so they multiply both
sides alike. A `GraphSet` is the special case of windows of one state each.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from eqlearn.errors import UserInputError
from eqlearn.gnn.training import GraphSet
from eqlearn.physics.weak_form import POWER, coarse_mean_weights, window_starts, window_weights, windowed


@dataclass
class WindowSet:
    """Windows of `points` consecutive states of one system each, stored window by window."""

    states: GraphSet  # [W * K] states, the K of window 0 first
    weights: torch.Tensor  # [W, K] φ-weighted mean weights (each row sums to 1)
    accelerations: torch.Tensor  # [W, n, d] weak targets: the φ-weighted mean accelerations
    target_noise: torch.Tensor | None = None  # [W] estimated noise (std) of each target coordinate
    coarse_weights: torch.Tensor | None = None  # [W, K] the mean weights on every other state only

    @classmethod
    def from_trajectories(cls, trajectories, points: int, stride: int, power: int = POWER,
                          position_noise: float = 0.0) -> "WindowSet":
        """Every window of `points` stored steps, `stride` apart, of every system; `position_noise`
        (the positions' estimated noise) gives each target's. The states carry accelerations of 0:
        in the weak form nothing compares a single state with the data."""
        positions = trajectories.continuous_positions  # in a periodic box: the path taken, not the jumps by L
        times = np.asarray(trajectories.system_times, dtype=np.float64)
        starts = window_starts(positions.shape[1], points, stride)
        if len(starts) == 0:
            raise UserInputError(f"{positions.shape[1]} stored steps hold no window of {points} steps")
        mean, curvature = window_weights(times, starts, points, power)  # [S, W, K]
        picked = starts[:, None] + np.arange(points)
        states = GraphSet.from_trajectories(_gathered(trajectories, picked))
        states.system = torch.arange(len(positions)).repeat_interleave(len(starts) * points)
        flat = lambda a: torch.as_tensor(a.reshape(-1, *a.shape[2:]), dtype=torch.float32)
        noise = position_noise * np.sqrt(np.sum(curvature**2, axis=-1))  # [S, W]
        coarse = coarse_mean_weights(times, starts, points, power)
        windows = cls(states, flat(mean), flat(windowed(positions, starts, curvature)), flat(noise), flat(coarse))
        windows.check_finite()
        return windows

    @property
    def points(self) -> int:
        return self.weights.shape[1]

    def __len__(self) -> int:
        return self.weights.shape[0]

    @property
    def masses(self) -> torch.Tensor:
        return self.states.masses[:: self.points]

    @property
    def charges(self) -> torch.Tensor:
        return self.states.charges[:: self.points]

    @property
    def system(self) -> torch.Tensor | None:
        return None if self.states.system is None else self.states.system[:: self.points]

    @property
    def inputs(self) -> tuple:
        """What the model reads: the states of every window."""
        return self.states.inputs

    def average(self, values):
        """The φ-weighted mean over each window of per-state values [W * K, ...] (torch or numpy): [W, ...]."""
        if isinstance(values, np.ndarray):
            return self._weighted(self.weights, values)
        shaped = values.reshape(len(self), self.points, *values.shape[1:])
        return torch.einsum("wk,wk...->w...", self.weights.to(values.dtype), shaped)

    def resolution_error(self, values: np.ndarray) -> np.ndarray:
        """How far the φ-weighted mean of per-state values [W * K, ...] (numpy) over each window
        changes when every other state is left out: [W, ...], about the error of the weak identity
        on windows the sampling does not resolve (`physics.weak_form.coarse_mean_weights`); zeros
        where the set carries no coarse weights."""
        if self.coarse_weights is None:
            return np.zeros((len(self), *values.shape[1:]))
        return self._weighted(self.weights - self.coarse_weights, values)

    def _weighted(self, weights: torch.Tensor, values: np.ndarray) -> np.ndarray:
        """Σ_k weights[w, k] values[w * K + k] for per-state numpy values: [W, ...]."""
        shaped = values.reshape(len(self), self.points, *values.shape[1:])
        return np.einsum("wk,wk...->w...", weights.double().cpu().numpy(), shaped)

    def subset(self, index) -> "WindowSet":
        windows = torch.arange(len(self), device=self.weights.device)[index]
        states = (windows[:, None] * self.points + torch.arange(self.points, device=windows.device)).reshape(-1)
        noise = None if self.target_noise is None else self.target_noise[windows]
        coarse = None if self.coarse_weights is None else self.coarse_weights[windows]
        return WindowSet(self.states.subset(states), self.weights[windows], self.accelerations[windows], noise, coarse)

    def spread(self, count: int) -> "WindowSet":
        """At most `count` windows evenly spaced through the set."""
        if len(self) <= count:
            return self
        return self.subset(torch.linspace(0, len(self) - 1, count).round().long())

    def to(self, device) -> "WindowSet":
        noise = None if self.target_noise is None else self.target_noise.to(device)
        coarse = None if self.coarse_weights is None else self.coarse_weights.to(device)
        return WindowSet(self.states.to(device), self.weights.to(device), self.accelerations.to(device), noise, coarse)

    def with_masses(self, masses: torch.Tensor) -> "WindowSet":
        """The same windows with other masses [W, n] (constant over each window)."""
        return replace(self, states=self.states.with_masses(masses.repeat_interleave(self.points, 0)))

    def with_charges(self, charges: torch.Tensor) -> "WindowSet":
        """The same windows with other charges [W, n]."""
        return replace(self, states=self.states.with_charges(charges.repeat_interleave(self.points, 0)))

    def check_finite(self) -> None:
        self.states.check_finite()
        if not torch.isfinite(self.accelerations).all():
            raise UserInputError("the data set has NaN or infinite weak targets")

    def batches(self, batch_size: int, generator: torch.Generator) -> list["WindowSet"]:
        """Batches of `batch_size` windows in a seeded random order."""
        order = torch.randperm(len(self), generator=generator).to(self.weights.device)
        return [self.subset(order[i:i + batch_size]) for i in range(0, len(self), batch_size)]


def _gathered(trajectories, picked: np.ndarray):
    """The trajectories as one system per window: [S * W, K, ...] from the steps `picked` [W, K]."""
    systems, windows = len(trajectories), len(picked)
    take = lambda a: None if a is None else a[:, picked].reshape(systems * windows, *picked.shape[1:], *a.shape[2:])
    per_system = lambda a: None if a is None else np.repeat(np.asarray(a), windows, axis=0)
    box = per_system(trajectories.box) if np.ndim(trajectories.box) > 1 else trajectories.box  # [S, d] or one for all
    positions = take(trajectories.positions)
    return replace(trajectories, positions=positions, velocities=take(trajectories.velocities),
                   accelerations=np.zeros_like(positions), masses=per_system(trajectories.masses),
                   charges=per_system(trajectories.charges), times=None, box=box)
