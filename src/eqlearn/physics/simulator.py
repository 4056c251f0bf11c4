"""Simulate many independent n-body systems under one pair potential (docs/design.md §5).

All systems are integrated together with the adaptive Dormand-Prince scheme of `integrator`, in
float64; states are stored in float32 (or float64, for positions whose derivatives are estimated)
and the stored accelerations are computed exactly from the stored (rounded) states, so every
(state, acceleration) training pair is consistent to rounding.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr
from tqdm import tqdm

from eqlearn.errors import UserInputError
from eqlearn.physics.integrator import dormand_prince
from eqlearn.physics.interactions import particle_major_accelerations
from eqlearn.physics.potentials import LAWS, PairPotential, get_potential
from eqlearn.version import __version__
from eqlearn.vocabulary.periodic import unwrap, wrap
from eqlearn.vocabulary.symbols import SOFTENING

#: Local error tolerance (relative and absolute) of the integrator; its accuracy and cost are
#: measured in benchmarks/results/simulator_speed.md.
TOLERANCE = 1e-7
#: Systems stepped together. A force evaluation costs ~3x less per system in blocks of 1-2k
#: systems than at 10k, where the temporaries no longer fit in cache (measured).
BLOCK = 2048


@dataclass
class Trajectories:
    """Systems over time: states and accelerations [S, T, n, d], masses and charges [S, n].

    Velocities, masses, charges, times and particle `names` [n] may be absent (None) in data from
    elsewhere: observed positions carry no masses, and their accelerations are estimated
    (`eqlearn.physics.derivatives`). `times` is [T], shared by every system, or [S, T], one row per
    system. `softening` is the ε of r = |Δ| + ε the accelerations were computed with (0 for real data).
    `box`: the edge lengths of a periodic, orthorhombic box, [d] for all systems, [S, d] per system
    or [S, T, d] per state (None: open space; pairs then use minimum images, `eqlearn.vocabulary.periodic`).
    `types` [n]: each particle's species (molecular dynamics files), where the data name them.
    """

    positions: np.ndarray
    velocities: np.ndarray | None
    accelerations: np.ndarray | None
    masses: np.ndarray | None
    charges: np.ndarray | None
    times: np.ndarray | None
    meta: dict = field(default_factory=dict)
    softening: float = SOFTENING
    names: list[str] | None = None
    box: np.ndarray | None = None
    types: list[str] | None = None

    def __len__(self) -> int:
        return self.positions.shape[0]

    @property
    def system_times(self) -> np.ndarray | None:
        """The times as [S, T] (a row per system) whether they are stored as [T] or [S, T]."""
        if self.times is None:
            return None
        return np.broadcast_to(self.times, self.positions.shape[:2])

    @property
    def state_boxes(self) -> np.ndarray | None:
        """The box as [S, T, d] (one per state) however it is stored; None in open space."""
        if self.box is None:
            return None
        box = np.asarray(self.box)
        return np.broadcast_to(box[:, None] if box.ndim == 2 else box, (*self.positions.shape[:2], box.shape[-1]))

    @property
    def continuous_positions(self) -> np.ndarray:
        """The positions in float64, in a periodic box made continuous along time (a particle crossing
        a face does not jump by L): the path it took, as derivatives and weak-form targets need."""
        boxes = self.state_boxes
        return unwrap(np.asarray(self.positions, dtype=np.float64), None if boxes is None else boxes[:, :, None])

    def select(self, simulations) -> "Trajectories":
        """The given simulations (indices or a mask), all their time steps, the same meta."""
        pick = lambda a: None if a is None else a[simulations]
        times = pick(self.times) if self.times is not None and self.times.ndim == 2 else self.times
        box = pick(self.box) if self.box is not None and np.ndim(self.box) > 1 else self.box
        return Trajectories(self.positions[simulations], pick(self.velocities), pick(self.accelerations),
                            pick(self.masses), pick(self.charges), times, dict(self.meta), self.softening, self.names,
                            box, self.types)

    def potential(self) -> PairPotential:
        """The pair potential these trajectories were simulated with, rebuilt from `meta`."""
        if self.meta["law"] in LAWS:
            return LAWS[self.meta["law"]]
        return get_potential(expression=self.meta["potential"])


def _check(n: int, dim: int, sims: int, steps: int, dt: float) -> None:
    if n < 2:
        raise UserInputError(f"n = {n}: a pair potential needs at least 2 particles")
    if dim not in (2, 3):
        raise UserInputError(f"dim = {dim}: only 2-D and 3-D systems are supported")
    if sims < 1 or steps < 1:
        raise UserInputError(f"sims = {sims}, steps = {steps}: both must be at least 1")
    if not (math.isfinite(dt) and dt > 0):
        raise UserInputError(f"dt = {dt}: the time step must be a positive number")


def initial_conditions(potential: PairPotential, n: int, dim: int, sims: int, seed: int, spread: float = 1.0,
                       box: np.ndarray | None = None):
    """Positions, velocities [S, n, d], masses, charges [S, n] as float32, per docs/design.md §5.

    Every entry is N(0, 1), positions N(0, spread²), or uniform in a periodic `box` [d] (the same
    draws through the normal CDF); masses are exp of theirs; charges become ±1 only for laws that
    use them. One draw per system in order, so the first k systems do not depend on `sims`.
    """
    draws = np.random.default_rng(seed).standard_normal((sims, n, 2 * dim + 2))
    if box is not None:
        draws[..., :dim] = box * ndtr(draws[..., :dim])
    elif spread != 1.0:
        draws[..., :dim] *= spread
    charges = draws[..., 2 * dim]
    if potential.uses_charge:
        charges = np.where(charges >= 0, 1.0, -1.0)
    return tuple(np.ascontiguousarray(a, dtype=np.float32) for a in (
        draws[..., :dim], draws[..., dim:2 * dim], np.exp(draws[..., 2 * dim + 1]), charges))


def _integrate(potential, x, v, masses, charges, times, tolerance, on_output, dtype=np.float32, cutoff=None,
               softening=SOFTENING, box=None):
    """States [T, 2, n, S, d] (in `dtype`) of all systems: (x, v) with particles first, the layout
    in which the pair sums are fastest (`particle_major_accelerations`)."""
    m, q = masses.T.astype(np.float64), charges.T.astype(np.float64)

    def derivative_for(systems):
        m_s, q_s = m[:, systems], q[:, systems]

        def derivative(y):
            return np.stack([y[1], particle_major_accelerations(y[0], y[1], m_s, q_s, potential, cutoff, softening, box)])

        return derivative

    y0 = np.stack([x.transpose(1, 0, 2), v.transpose(1, 0, 2)])
    return dormand_prince(derivative_for, y0, times, tolerance, tolerance, axis=2,
                          on_output=on_output, dtype=dtype, block=BLOCK)


def _stored_accelerations(states, masses, charges, potential, cutoff=None, softening=SOFTENING, box=None):
    """Exact accelerations [T, n, S, d] of the stored, rounded states."""
    m, q = masses.T.astype(np.float64), charges.T.astype(np.float64)
    accelerations = np.empty_like(states[:, 0])
    for k, (x, v) in enumerate(states):
        for start in range(0, x.shape[1], BLOCK):
            part = slice(start, start + BLOCK)
            accelerations[k][:, part] = particle_major_accelerations(
                x[:, part].astype(np.float64), v[:, part].astype(np.float64), m[:, part],
                q[:, part], potential, cutoff, softening, box)
    return accelerations


def simulate(potential: PairPotential, n: int, dim: int, sims: int, steps: int,
             dt: float | None = None, seed: int = 0, progress: bool = False,
             tolerance: float = TOLERANCE, dtype=np.float32, spread: float = 1.0,
             cutoff: float | None = None, initial_state: tuple | None = None,
             softening: float = SOFTENING, box=None) -> Trajectories:
    """`sims` systems of `n` particles in `dim` dimensions, `steps` states `dt` apart from t = 0.

    `dt` defaults to the law's reference output spacing; the integrator chooses its own internal
    steps per system. States are stored in `dtype`: float64 keeps rounding out of accelerations
    estimated from the positions. The same arguments give bit-for-bit the same arrays. `spread`
    scales the initial positions (large systems at the density of small ones); with `cutoff`, pairs
    at |Δ| >= cutoff do not interact. `initial_state` (positions, velocities [S, n, d], masses,
    charges [S, n]) replaces the reference's random draw (e.g. `eqlearn.physics.clusters`: compact
    molecular clusters); `softening` is the ε of r = |Δ| + ε (0 for molecular data). With a
    periodic `box` (an edge length L, or d of them) the particles start uniformly inside it, pairs
    interact through their nearest images and the stored positions are wrapped into [0, L): a
    particle leaving through one face comes back through the opposite one.
    """
    dt = potential.default_dt if dt is None else float(dt)
    _check(n, dim, sims, steps, dt)
    if not (spread > 0 and (cutoff is None or cutoff > 0) and softening >= 0):
        raise UserInputError(f"spread = {spread}, cutoff = {cutoff}, softening = {softening}: the first two must "
                             "be positive, the softening at least 0")
    box = _checked_box(box, dim, spread)
    if initial_state is None:
        x, v, masses, charges = initial_conditions(potential, n, dim, sims, seed, spread, box)
    else:
        x, v, masses, charges = _checked_state(initial_state, n, dim, sims)
    times = dt * np.arange(steps)
    with tqdm(total=sims * steps, unit="state", unit_scale=True, file=sys.stderr, delay=1.0,
              desc=f"simulating {potential.name}", disable=not progress) as bar:
        states = _integrate(potential, x, v, masses, charges, times, tolerance, bar.update, dtype, cutoff, softening, box)
    if box is not None:
        states[:, 0] = wrap(states[:, 0], box.astype(states.dtype))
    accelerations = _stored_accelerations(states, masses, charges, potential, cutoff, softening, box)
    positions, velocities, accelerations = (
        np.ascontiguousarray(a.transpose(2, 0, 1, 3))
        for a in (states[:, 0], states[:, 1], accelerations))
    meta = {"law": potential.name, "potential": potential.expression,
            "damping": potential.damping, "n": n, "dim": dim, "sims": sims, "steps": steps,
            "dt": dt, "seed": seed, "integrator": "dormand-prince-5(4), adaptive per system",
            "tolerance": tolerance, "eqlearn_version": __version__}
    if spread != 1.0 or cutoff is not None:
        meta.update(spread=spread, cutoff=cutoff)
    if initial_state is not None:
        meta.update(initial_state="given")
    if box is not None:
        meta["box"] = box.tolist()
    return Trajectories(positions, velocities, accelerations, masses, charges, times, meta, softening, box=box)


def _checked_state(state: tuple, n: int, dim: int, sims: int) -> tuple:
    """A given initial state as float32 arrays of the shapes `simulate` needs, or a UserInputError."""
    if len(state) != 4:
        raise UserInputError("an initial state is (positions, velocities, masses, charges)")
    shapes = [(sims, n, dim), (sims, n, dim), (sims, n), (sims, n)]
    arrays = tuple(np.ascontiguousarray(a, dtype=np.float32) for a in state)
    for name, array, shape in zip(("positions", "velocities", "masses", "charges"), arrays, shapes):
        if array.shape != shape or not np.all(np.isfinite(array)):
            raise UserInputError(f"initial {name}: need finite values of shape {shape}, got {array.shape}")
    if np.any(arrays[2] <= 0):
        raise UserInputError("initial masses must be positive")
    return arrays


def _checked_box(box, dim: int, spread: float) -> np.ndarray | None:
    """A periodic box as d edge lengths (float64), or None; one length stands for all axes."""
    if box is None:
        return None
    if spread != 1.0:
        raise UserInputError("give a periodic box or a spread, not both: in a box the particles start uniformly inside it")
    try:
        lengths = np.broadcast_to(np.asarray(box, dtype=np.float64), (dim,)).copy()
    except (TypeError, ValueError):
        raise UserInputError(f"box = {box!r}: give one edge length or {dim} of them") from None
    if not np.all(np.isfinite(lengths) & (lengths > 0)):
        raise UserInputError(f"box = {box!r}: edge lengths must be positive numbers")
    return lengths
