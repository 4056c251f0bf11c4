"""Write the kind of file a molecular dynamics user has: eight argon atoms run by ASE, saved as extended XYZ.

Lennard-Jones argon (sigma 3.4 Å, epsilon 0.0103 eV = 0.996 kJ/mol) at about 60 K, velocity Verlet
with 5 fs steps; every 4th step is written with its positions, momenta, forces and time, in ASE's
units (Å, eV, amu). eqlearn reads it directly or converts it (needs pip install "eqlearn[md]"):

    python examples/argon_ase.py argon.extxyz                  # about 10 s of CPU time
    eqlearn data convert argon.extxyz --out argon.npz          # in nm, ps, amu, kJ/mol
    eqlearn discover --data argon.extxyz --out runs/argon      # or --data argon.npz
"""
import sys

import numpy as np
from ase import Atoms, units
from ase.calculators.lj import LennardJones
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.md.verlet import VelocityVerlet

rng = np.random.default_rng(0)
corners = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], dtype=float)
atoms = Atoms("Ar8", positions=3.9 * corners + rng.normal(0, 0.1, (8, 3)))
atoms.calc = LennardJones(sigma=3.4, epsilon=0.0103, rc=50.0)  # a cut-off beyond the cluster: the plain law
momenta = rng.normal(0, 1, (8, 3)) * np.sqrt(atoms.get_masses()[:, None] * units.kB * 60.0)
atoms.set_momenta(momenta - momenta.mean(axis=0))  # about 60 K, the cluster at rest

dynamics = VelocityVerlet(atoms, timestep=5 * units.fs)
frames = []


def store():
    frame = atoms.copy()
    frame.info["time"] = dynamics.get_time()  # in ASE's time unit, as ASE's own readers store it
    frame.calc = SinglePointCalculator(frame, forces=atoms.get_forces(), energy=atoms.get_potential_energy())
    frames.append(frame)


dynamics.attach(store, interval=4)
dynamics.run(8000)
path = sys.argv[1] if len(sys.argv) > 1 else "argon.extxyz"
write(path, frames)
print(f"{len(frames)} frames of {len(atoms)} argon atoms written to {path}")
