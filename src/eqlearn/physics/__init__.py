"""Ground-truth physics: pair potentials, the n-body simulator and data sets on disk."""
from eqlearn.physics.dataset import load_dataset, save_dataset, split_by_simulation
from eqlearn.physics.interactions import pair_accelerations, total_energy
from eqlearn.physics.potentials import LAWS, PairPotential, get_potential
from eqlearn.physics.simulator import Trajectories, simulate

__all__ = [
    "LAWS", "PairPotential", "Trajectories", "get_potential", "load_dataset", "pair_accelerations",
    "save_dataset", "simulate", "split_by_simulation", "total_energy",
]
