"""Units in which the data are of order one, chosen from the data (docs/design.md §1).

An EQL learns weights of order one. Data in astronomical units and days (accelerations of 10⁻⁴ to
10⁻⁸ au/day², distances from 10⁻³ to 60 au) ask it for coefficients and exponents far from its
starting point and make training unstable. A run therefore measures lengths in a length L the data
choose, masses in their median M and time in the T that makes the median force M L / T², trains and
reads out there, and writes the law back in the data's own units: for a pair force
F'(Δ', r', v', m') learned in these units, F(Δ, r, v, m) = (M L/T²) · F'(Δ/L, r/L, v·T/L, m/M),
charges unchanged.

Which L depends on what the data show. Particles that keep a distance from each other (a liquid, a
cluster, a crystal: the nearest-neighbour distances bunch above a contact distance, their 5 %
quantile above `WALL` times their median) are held apart by a steep repulsion, r⁻¹² or e^(−Br),
whose coefficients are of order one only in units of that contact distance: in nm, argon's
Lennard-Jones force is 1.1e-4 r⁻¹³ beside 14 kJ/(mol nm) typical forces, a weight that sparsity
takes for noise, and 0.4 nm off the contact distance is a factor 0.4¹³ = 7e-6 on the law's steep
term. Such data always get units of their contact distance. Other data (a gas of point masses,
whose pairs come arbitrarily close) get the median pair distance, and keep their own units where
both that and the median acceleration are within a factor `FAR` of 1 (masses are then unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import sympy

from eqlearn.errors import UserInputError
from eqlearn.vocabulary.periodic import displacement
from eqlearn.vocabulary.symbols import DELTA, RELATIVE_VELOCITY, m1, m2, r

#: Data without a contact distance whose median pair distance and median acceleration both lie
#: within this factor of 1 keep their units.
FAR = 10.0
#: The contact distance is this quantile of every particle's nearest-neighbour distance ...
CONTACT_QUANTILE = 0.05
#: ... and the data have one where it is at least WALL times the median nearest-neighbour distance
#: (a gas of N(0, 1) positions: 0.25–0.37; argon clusters and a molten salt: 0.84–0.92).
WALL = 0.6
#: Pair distances and accelerations measured for the choice (a seeded sample of states, fewer
#: where the systems are large: at most PAIR_BUDGET pairs).
SAMPLE_STATES = 2000
PAIR_BUDGET = 2**18


@dataclass(frozen=True)
class DataUnits:
    """The run's length, time and mass units, in the data's own units (1, 1, 1: unchanged)."""

    length: float = 1.0
    time: float = 1.0
    mass: float = 1.0

    @property
    def changed(self) -> bool:
        return (self.length, self.time, self.mass) != (1.0, 1.0, 1.0)

    @property
    def speed(self) -> float:
        return self.length / self.time

    @property
    def acceleration(self) -> float:
        return self.length / self.time**2

    @property
    def force(self) -> float:
        return self.mass * self.acceleration

    def apply(self, trajectories):
        """The trajectories measured in these units."""
        if not self.changed:
            return trajectories
        scaled = lambda a, factor: None if a is None else a / factor
        return replace(trajectories, positions=trajectories.positions / self.length, box=scaled(trajectories.box, self.length),
                       velocities=scaled(trajectories.velocities, self.speed),
                       accelerations=scaled(trajectories.accelerations, self.acceleration),
                       masses=scaled(trajectories.masses, self.mass),
                       times=scaled(trajectories.times, self.time), softening=trajectories.softening / self.length)

    def to_data_units(self, force: sympy.Expr) -> sympy.Expr:
        """A pair force learned in these units, written in the data's own."""
        if not self.changed:
            return force
        substitution = {**{d: d / self.length for d in DELTA}, r: r / self.length,
                        **{v: v / self.speed for v in RELATIVE_VELOCITY}, m1: m1 / self.mass, m2: m2 / self.mass}
        return sympy.expand(sympy.expand_power_base(self.force * force.xreplace(substitution), force=True))

    def to_dict(self) -> dict:
        return {"length": self.length, "time": self.time, "mass": self.mass}


def choose_units(trajectories, seed: int = 0, within: float | None = None, nearest: int | None = None,
                 mass_unit: bool = True, acceleration: float | None = None) -> DataUnits:
    """The run's units (module docstring): the contact distance where the data have one, else the
    median pair distance or the data's own; the median mass (unless `mass_unit` is False: masses
    that are learned keep the data's unit); the time that makes the median force one. The pairs are
    those that interact in the run's graph: all of them, those closer than `within` (a radius graph)
    or each particle's `nearest` (a kNN graph). `acceleration`: the typical |a| where the caller
    knows it better than the data's accelerations (noisy positions: `weak_form.median_acceleration`);
    the data's then only say how the accelerations spread about it."""
    positions, accelerations = trajectories.positions, trajectories.accelerations
    flat = positions.reshape(-1, *positions.shape[2:])
    n = positions.shape[2]
    states = min(SAMPLE_STATES, max(1, PAIR_BUDGET // n**2))
    pick = np.random.default_rng(seed).permutation(len(flat))[:states]
    boxes = trajectories.state_boxes
    box = None if boxes is None else boxes.reshape(-1, boxes.shape[-1])[pick][:, None, None]
    delta = displacement(flat[pick][:, :, None], flat[pick][:, None], box)
    distances = np.where(np.eye(n, dtype=bool), np.inf, np.linalg.norm(delta, axis=-1))
    if within is not None:
        distances = np.where(distances < within, distances, np.inf)
    if nearest is not None:
        distances = np.sort(distances, axis=-1)[..., :nearest]
    interacting = distances[np.isfinite(distances)]
    if interacting.size == 0 and within is not None:
        raise UserInputError(f"no two particles are closer than the graph's radius {within:g} in the data: "
                             "choose a larger radius")
    if interacting.size == 0:
        return DataUnits()
    state_accelerations = accelerations.reshape(-1, *accelerations.shape[2:])[pick]
    if acceleration is not None:
        typical = float(np.median(np.linalg.norm(state_accelerations, axis=-1)))
        state_accelerations = state_accelerations * (acceleration / typical if typical > 0 else 1.0)
    masses = trajectories.masses if mass_unit else None
    contact = contact_distance(distances.min(axis=-1))
    if contact is not None:
        return _contact_units(contact, state_accelerations, masses, trajectories, pick)
    length = float(np.median(interacting))
    acceleration = float(np.median(np.linalg.norm(state_accelerations, axis=-1)))
    if not (length > 0 and acceleration > 0):
        return DataUnits()
    if 1 / FAR <= length <= FAR and 1 / FAR <= acceleration <= FAR:
        return DataUnits()
    return DataUnits(length, float(np.sqrt(length / acceleration)))


def contact_distance(nearest: np.ndarray) -> float | None:
    """The distance the particles keep from each other, from every particle's nearest-neighbour
    distance: their CONTACT_QUANTILE quantile, where that is at least WALL times their median;
    None where the particles come arbitrarily close (no wall)."""
    nearest = nearest[np.isfinite(nearest)]
    if nearest.size == 0:
        return None
    contact, typical = np.quantile(nearest, [CONTACT_QUANTILE, 0.5])
    return float(contact) if contact > 0 and contact >= WALL * typical else None


def _contact_units(contact: float, accelerations: np.ndarray, masses, trajectories, pick) -> DataUnits:
    """Units of the contact distance, the median mass and the time that makes the median force one."""
    mass = 1.0
    force = np.linalg.norm(accelerations, axis=-1)
    if masses is not None:
        per_state = np.repeat(np.asarray(masses), trajectories.positions.shape[1], axis=0)[pick]
        mass = float(np.median(masses))
        force = force * per_state
    typical_force = float(np.median(force))
    if not (typical_force > 0 and mass > 0):
        return DataUnits()
    return DataUnits(contact, float(np.sqrt(mass * contact / typical_force)), mass)
