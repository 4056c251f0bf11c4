"""Units in which the data are of order one, chosen from the data (docs/design.md §1).

An EQL learns weights of order one. Data in astronomical units and days (accelerations of 10⁻⁴ to
10⁻⁸ au/day², distances from 10⁻³ to 60 au) ask it for coefficients and exponents far from its
starting point and make training unstable. A run therefore measures lengths in the median distance
between particles and time in the time the median acceleration takes to cover that distance,
trains and reads out there, and writes the law back in the data's own units: for a pair force
F'(Δ', r', v') learned in these units, F(Δ, r, v) = (L/T²) · F'(Δ/L, r/L, v·T/L), masses and charges
unchanged. Data already of order one (within a factor `FAR` on both scales) are left as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import sympy

from eqlearn.errors import UserInputError
from eqlearn.vocabulary.symbols import DELTA, RELATIVE_VELOCITY, r

#: Data whose median pair distance and median acceleration both lie within this factor of 1 keep their units.
FAR = 10.0
#: Pair distances and accelerations measured for the choice (a seeded sample of states, fewer
#: where the systems are large: at most PAIR_BUDGET pairs).
SAMPLE_STATES = 2000
PAIR_BUDGET = 2**18


@dataclass(frozen=True)
class DataUnits:
    """The run's length and time units, in the data's own units (1 and 1: unchanged)."""

    length: float = 1.0
    time: float = 1.0

    @property
    def changed(self) -> bool:
        return (self.length, self.time) != (1.0, 1.0)

    @property
    def speed(self) -> float:
        return self.length / self.time

    @property
    def acceleration(self) -> float:
        return self.length / self.time**2

    def apply(self, trajectories):
        """The trajectories measured in these units."""
        if not self.changed:
            return trajectories
        scaled = lambda a, factor: None if a is None else a / factor
        return replace(trajectories, positions=trajectories.positions / self.length,
                       velocities=scaled(trajectories.velocities, self.speed),
                       accelerations=scaled(trajectories.accelerations, self.acceleration),
                       times=scaled(trajectories.times, self.time), softening=trajectories.softening / self.length)

    def to_data_units(self, force: sympy.Expr) -> sympy.Expr:
        """A pair force learned in these units, written in the data's own."""
        if not self.changed:
            return force
        substitution = {**{d: d / self.length for d in DELTA}, r: r / self.length,
                        **{v: v / self.speed for v in RELATIVE_VELOCITY}}
        return sympy.expand(sympy.expand_power_base(self.acceleration * force.xreplace(substitution), force=True))

    def to_dict(self) -> dict:
        return {"length": self.length, "time": self.time}


def choose_units(trajectories, seed: int = 0, within: float | None = None, nearest: int | None = None) -> DataUnits:
    """The median pair distance L and T = sqrt(L / median |a|), or the data's own units where both
    are already within `FAR` of 1. The pairs are those that interact in the run's graph: all of
    them, those closer than `within` (a radius graph) or each particle's `nearest` (a kNN graph)."""
    positions, accelerations = trajectories.positions, trajectories.accelerations
    flat = positions.reshape(-1, *positions.shape[2:])
    n = positions.shape[2]
    states = min(SAMPLE_STATES, max(1, PAIR_BUDGET // n**2))
    pick = np.random.default_rng(seed).permutation(len(flat))[:states]
    delta = flat[pick][:, :, None] - flat[pick][:, None]
    distances = np.linalg.norm(delta, axis=-1)
    if nearest is not None:
        distances = np.sort(np.where(np.eye(n, dtype=bool), np.inf, distances), axis=-1)[..., :nearest]
    else:
        distances = distances[:, ~np.eye(n, dtype=bool)]
        distances = distances if within is None else distances[distances < within]
    if distances.size == 0 and within is not None:
        raise UserInputError(f"no two particles are closer than the graph's radius {within:g} in the data: "
                             "choose a larger radius")
    if distances.size == 0:
        return DataUnits()
    length = float(np.median(distances))
    acceleration = float(np.median(np.linalg.norm(accelerations.reshape(-1, *accelerations.shape[2:])[pick], axis=-1)))
    if not (length > 0 and acceleration > 0):
        return DataUnits()
    if 1 / FAR <= length <= FAR and 1 / FAR <= acceleration <= FAR:
        return DataUnits()
    return DataUnits(length, float(np.sqrt(length / acceleration)))
