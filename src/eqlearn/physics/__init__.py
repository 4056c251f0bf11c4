"""Ground-truth physics: pair potentials, the n-body simulator and data sets on disk (npz, CSV, ephemerides)."""
from eqlearn.physics.dataset import load_dataset, save_dataset, split_by_simulation
from eqlearn.physics.derivatives import complete_derivatives
from eqlearn.physics.interactions import pair_accelerations, total_energy
from eqlearn.physics.observation import observe, simulate_positions
from eqlearn.physics.potentials import LAWS, PairPotential, get_potential
from eqlearn.physics.simulator import Trajectories, simulate

__all__ = [
    "LAWS", "PairPotential", "Trajectories", "complete_derivatives", "get_potential", "load_dataset", "observe",
    "pair_accelerations", "save_dataset", "simulate", "simulate_positions", "split_by_simulation", "total_energy",
]
