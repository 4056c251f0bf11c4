"""The data a run learns from: a file or a simulation, what the data carry (the only description
of the data a recipe sees), the truth where a file states it (for the verifier only), and the
split into training, validation and test data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import sympy

from eqlearn.discovery.config import DEFAULT_LAW, DiscoverConfig
from eqlearn.discovery.recipes import DataSpec
from eqlearn.errors import UserInputError
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.neighbours import parse_graph
from eqlearn.physics.dataset import load_dataset, split_by_simulation
from eqlearn.physics.potentials import get_potential, parse_potential
from eqlearn.physics.simulator import simulate
from eqlearn.physics.splits import MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION, split_by_time


@dataclass(frozen=True)
class Truth:
    """The law that made the data, when the data say so: used by the verifier and nothing else."""

    name: str
    potential: str
    damping: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def load_or_simulate(config: DiscoverConfig):
    """(trajectories, truth or None). Simulates `config.law` / `config.potential` (the spring when
    neither is given), or reads `config.data`, whose own arrays decide n, dim and the inputs."""
    if config.data is None:
        potential = get_potential(config.law or (None if config.potential else DEFAULT_LAW), config.potential)
        trajectories = simulate(potential, config.n, config.dim, config.sims, config.steps, seed=config.seed,
                                progress=config.progress, spread=config.spread, cutoff=config.cutoff)
        refuse_degenerate(trajectories, f"the simulation of U = {potential.expression}")
        return trajectories, Truth(potential.name, potential.expression, potential.damping)
    trajectories = load_dataset(config.data)
    stored = trajectories.meta.get("potential")
    truth = None
    if stored is not None:
        parse_potential(str(stored))  # a file's potential is data: refused here, before any work, if it is not a formula
        truth = Truth(str(trajectories.meta.get("law", "custom")), str(stored),
                      float(trajectories.meta.get("damping", 0.0)))
    if config.law is not None or config.potential is not None:
        _check_agrees(config, truth)
    refuse_degenerate(trajectories, config.data)
    return trajectories, truth


#: Estimated accelerations count as none where, over the data's time span, they would move a
#: particle by less than this fraction of the positions' extent (constant velocities, fitted).
NEGLIGIBLE_MOTION = 1e-9


def refuse_degenerate(trajectories, source: str) -> None:
    """Data no pair force can be learned from, refused with one line before any work: two particles
    of a state at the same place (the pair's direction is undefined), one configuration only
    (every state holds the same positions), or no force at all (every acceleration zero, or for
    accelerations estimated from positions, negligible: motion at constant velocity)."""
    positions = np.asarray(trajectories.positions, dtype=float)
    systems, steps, n, dim = positions.shape
    states = positions.reshape(systems * steps, n, dim)
    order = np.lexsort([states[..., k] for k in reversed(range(dim))], axis=-1)  # each state's particles, sorted
    ordered = np.take_along_axis(states, order[..., None], axis=1)
    same = np.all(ordered[:, 1:] == ordered[:, :-1], axis=-1)
    if same.any():
        state, slot = np.argwhere(same)[0]
        i, j = sorted(int(p) for p in order[state, slot:slot + 2])
        names = trajectories.names or list(range(n))
        raise UserInputError(f"{source}: particles {names[i]} and {names[j]} of system {state // steps} are at the same "
                             f"place at time index {state % steps} (zero distance: the direction of their pair force is "
                             "undefined); remove the duplicate")
    extent = float(np.ptp(states, axis=0).max())
    if extent == 0:
        raise UserInputError(f"{source}: every state holds the same positions; one configuration cannot show how a "
                             "force depends on distance")
    largest = float(np.abs(trajectories.accelerations).max())
    estimated = "derivatives" in trajectories.meta and trajectories.times is not None
    span = float(np.ptp(np.asarray(trajectories.times, dtype=float), axis=-1).max()) if estimated else 0.0
    if largest == 0 or (estimated and largest * span**2 <= NEGLIGIBLE_MOTION * extent):
        kind = "estimated from the positions are negligible (constant velocities)" if largest else "are all zero"
        raise UserInputError(f"{source}: the accelerations {kind}: the data carry no force to learn")


def _check_agrees(config: DiscoverConfig, truth: Truth | None) -> None:
    """--law / --potential with --data only make sense as a statement about the file: check it."""
    asked = get_potential(config.law, config.potential)
    if truth is None:
        raise UserInputError(f"{config.data} stores no potential to check --law/--potential against; "
                             "leave them out (the law is what the run finds)")
    same = sympy.simplify(parse_potential(asked.expression) - parse_potential(truth.potential)) == 0
    if not same or asked.damping != truth.damping:
        raise UserInputError(f"{config.data} was made with U = {truth.potential}"
                             f"{f' and damping {truth.damping}' if truth.damping else ''}, not {asked.expression}")


def interacting_pairs(graph: str, n: int) -> dict:
    """Which pairs the run's graph connects, as `choose_units` takes it."""
    graph = parse_graph(graph, n)
    if isinstance(graph, EdgeList):
        return {}
    return {"within": graph.size} if graph.kind == "radius" else {"nearest": min(int(graph.size), n - 1)}


def data_spec(trajectories) -> DataSpec:
    """What the data carry: the only description of the data a recipe sees."""
    _, _, n, dim = trajectories.positions.shape
    return DataSpec(n=n, dim=dim, velocities=trajectories.velocities is not None,
                    charges=trajectories.charges is not None, softening=trajectories.softening,
                    masses=trajectories.masses is not None,
                    states=int(np.prod(trajectories.positions.shape[:2])), times=trajectories.times is not None,
                    acceleration_error=trajectories.meta.get("derivatives", {}).get("relative_acceleration_error"))


def splits_by_time(trajectories, config: DiscoverConfig) -> bool:
    """Whether the run splits its data by time blocks: where the systems are few or their masses or
    charges are learned (a learned mass can only be tested on its own system)."""
    return config.learn_masses or config.learn_charges or len(trajectories) < MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION


def split_data(trajectories, config: DiscoverConfig, block: int = 1):
    """(train, validation, test) trajectories: by simulation, or by time blocks of whole `block`
    steps (`splits_by_time`)."""
    if splits_by_time(trajectories, config):
        return split_by_time(trajectories, block=block)
    return split_by_simulation(trajectories, seed=config.seed)

