"""Molecular-dynamics cases: argon-like clusters under steep pair laws, in nm, ps, amu and kJ/mol.

Every case is a pair potential in kJ/mol (r in nm) with argon's mass (39.948 amu), simulated by
eqlearn's own integrator (`eqlearn.physics.simulate`, adaptive Dormand–Prince, no softening) from
compact clusters (`eqlearn.physics.clusters.cluster_state`: a jittered lattice at liquid-like
spacing, Maxwell–Boltzmann velocities). Accelerations are forces / masses in nm/ps²
(1 kJ/mol/amu = 1 nm²/ps²). A file holds positions, velocities, accelerations, masses (charges for
the ionic case), times and softening 0; with `--meta` also the law and potential, for judging.
With `--periodic`, n = k³ particles fill a periodic cubic box as a jittered lattice
(`periodic_lattice_state`), pairs interact through their nearest images within PERIODIC_RADIUS
(the force is cut there), the file carries the box, and discovery uses a radius graph of that size.

The laws (ε = 0.996 kJ/mol, σ = 0.34 nm; Buckingham is the exp-6 form with α = 14 fitted to
argon's well, minimum 0.3816 nm, depth 0.993 kJ/mol, barrier 2.8e4 kJ/mol at 0.077 nm; Morse has
argon's well and Lennard-Jones's curvature at the minimum; the salt adds Coulomb's law with
138.935 kJ nm/(mol e²) between charges ±1 on a rock-salt cluster):

    python benchmarks/md_cases.py --case lj --seed 0 --out lj.npz --meta     # one data file
    python benchmarks/md_cases.py --cases all --seeds 0-4                    # discovery runs, judged
    python benchmarks/md_cases.py --cases lj --n 64 --periodic --seeds 0-4   # a periodic box, radius graph
    python benchmarks/md_cases.py --table
"""
from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.discovery.recipes import DEFAULT_RECIPE, RECIPES
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.physics.clusters import BOLTZMANN_KJ_PER_MOL_K, cluster_state, periodic_lattice_state
from eqlearn.readout.verify import verify_law

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "md_cases.jsonl"
RUNS = HERE / "out" / "md_cases"
ARGON_MASS = 39.948  # amu
EPSILON, SIGMA = 0.996, 0.34  # kJ/mol, nm
COULOMB = 138.935  # kJ nm / (mol e²)
LENNARD_JONES = f"4*{EPSILON}*(({SIGMA}/r)**12 - ({SIGMA}/r)**6)"


@dataclass(frozen=True)
class MDCase:
    """A pair potential U(r[, q1, q2]) in kJ/mol and the clusters it is simulated from."""

    potential: str
    spacing: float  # nm between lattice sites at the start
    temperature: float  # K
    charged: bool = False


CASES: dict[str, MDCase] = {
    "lj": MDCase(LENNARD_JONES, 0.37, 40.0),
    "mie9-6": MDCase(f"6.75*{EPSILON}*(({SIGMA}/r)**9 - ({SIGMA}/r)**6)", 0.37, 40.0),
    "soft9": MDCase(f"{EPSILON}*({SIGMA}/r)**9", 0.37, 40.0),
    "buckingham": MDCase("898000*exp(-36.7*r) - 0.00536/r**6", 0.37, 40.0),
    "morse": MDCase(f"{EPSILON}*(exp(-28*(r - 0.3816)) - 2*exp(-14*(r - 0.3816)))", 0.37, 40.0),
    "lj-coulomb": MDCase(f"{LENNARD_JONES} + {COULOMB}*q1*q2/r", 0.28, 1000.0, charged=True),
}
#: Systems, stored states per system and their spacing (ps): 20,000 states of 1 ps trajectories.
SIMS, STEPS, DT = 2000, 10, 0.1
#: Periodic boxes: pairs interact (and the radius graph connects them) closer than this, in nm: 2σ
#: of Lennard-Jones, inside half the box of 64 particles at the cases' spacing (0.74 nm).
PERIODIC_RADIUS = 0.7
#: Particle-states of a periodic data set: as many as the clusters' (SIMS · STEPS · 8).
PERIODIC_PARTICLE_STATES = SIMS * STEPS * 8
#: Graphs per batch on periodic boxes: a box of 64 holds about 20 times a cluster's pairs within
#: the radius, and 256 of them per step made a run take over 20 minutes (measured, seed 0).
PERIODIC_BATCH = 32


def simulate_case(name: str, n: int = 8, seed: int = 0, sims: int | None = None, steps: int = STEPS,
                  dt: float = DT, periodic: bool = False):
    """Trajectories of case `name`: n particles in 3-D, `sims` clusters (or periodic boxes) of `steps`
    states `dt` ps apart."""
    case = CASES[name]
    kT, box, cutoff = BOLTZMANN_KJ_PER_MOL_K * case.temperature, None, None
    if periodic:
        sims = sims or max(1, PERIODIC_PARTICLE_STATES // (n * steps))
        state, box = periodic_lattice_state(n, 3, sims, case.spacing, kT, ARGON_MASS, seed=seed,
                                            alternating_charges=case.charged)
        cutoff = PERIODIC_RADIUS
    else:
        sims = sims or SIMS
        state = cluster_state(n, 3, sims, case.spacing, kT, ARGON_MASS, seed=seed, alternating_charges=case.charged)
    trajectories = simulate(get_potential(expression=case.potential), n, 3, sims, steps, dt=dt, seed=seed,
                            initial_state=state, softening=0.0, box=box, cutoff=cutoff)
    trajectories.meta.update(law=name, units="nm, ps, amu, kJ/mol", temperature=case.temperature,
                             spacing=case.spacing)
    if not case.charged:
        trajectories.charges = None
    return trajectories


def write_case(path: Path, name: str, n: int = 8, seed: int = 0, meta: bool = False, periodic: bool = False,
               **sizes) -> None:
    """One data file of case `name`; with `meta`, the law and potential go in too."""
    save_dataset(path, simulate_case(name, n, seed, periodic=periodic, **sizes), metadata=meta)


def describe(trajectories) -> str:
    """Closest approach, median pair distance and force quantiles: is the wall never breached?"""
    x = trajectories.positions.reshape(-1, *trajectories.positions.shape[2:])
    distances = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)[:, ~np.eye(x.shape[1], dtype=bool)]
    force = np.linalg.norm(trajectories.accelerations, axis=-1) * ARGON_MASS
    return (f"pair distance min {distances.min():.3f} nm, 1% {np.quantile(distances, 0.01):.3f}, median "
            f"{np.median(distances):.3f}; |F| median {np.median(force):.3g}, 99% {np.quantile(force, 0.99):.3g}, "
            f"max {force.max():.3g} kJ/(mol nm)")


def run_key(name: str, n: int, seed: int, recipe: str, periodic: bool = False) -> str:
    return f"{name}|n{n}|d3|s{seed}" + ("|periodic" if periodic else "") + ("" if recipe == DEFAULT_RECIPE else f"|{recipe}")


def run_one(name: str, n: int, seed: int, version: str, recipe: str = DEFAULT_RECIPE, periodic: bool = False) -> dict:
    """Discovery on a bare file of case `name` (no law inside), then judged against the case's law."""
    key = run_key(name, n, seed, recipe, periodic)
    out = RUNS / key.replace("|", "_")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    data = out / "data.npz"
    start = time.perf_counter()
    write_case(data, name, n, seed, periodic=periodic)
    graph = f"radius {PERIODIC_RADIUS}" if periodic else "complete"
    batch = {"batch_size": PERIODIC_BATCH} if periodic else {}
    discovery = run_discovery(DiscoverConfig(data=str(data), seed=seed, recipe=recipe, out=str(out / "run"),
                                             graph=graph, progress=False, **batch), log=lambda _: None)
    wall = time.perf_counter() - start
    potential = CASES[name].potential  # the truth, used from here on only to judge
    law_found = [m.get("refitted", m["expression"]) for m in discovery.messages]
    verdict = verify_law(law_found, potential, 3, canonical=discovery.canonical, softening=0.0)
    truth_free = discovery.truth_free
    systems = f"{max(1, PERIODIC_PARTICLE_STATES // (n * STEPS))} periodic boxes" if periodic else f"{SIMS} clusters"
    return {"key": key, "commit": version, "recipe": recipe, "law": name, "periodic": periodic, "graph": graph,
            "batch_size": discovery.config.batch_size,
            "data": f"{systems} x {STEPS} states {DT} ps apart, nm/ps/amu; `python benchmarks/md_cases.py`",
            "chosen_recipe": discovery.config.recipe, "n": n, "dim": 3, "seed": seed, "passed": verdict.passed,
            "unrotated": verdict.unrotated, "exact": all(verdict.exact), "r2": verdict.r2,
            "law_force_error": truth_free["law_force_error"], "network_force_error": truth_free["network_force_error"],
            "explains_data": truth_free["explains_data"], "law_to_network": truth_free.get("law_to_network"),
            "law_found": [m["unit_vector_form"] for m in discovery.messages], "wall_seconds": round(wall, 1),
            "seconds": discovery.seconds}


def main() -> None:
    from discover_sweep import commit, write_tables
    from results_log import append_rows, parse_seeds, read_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES), help="write one data file (with --out)")
    parser.add_argument("--out", type=Path, help="the data file to write")
    parser.add_argument("--meta", action="store_true", help="store the law and potential in the file")
    parser.add_argument("--cases", default="all", help="comma-separated cases to run discovery on, or all")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--periodic", action="store_true", help="n = k^3 particles in a periodic box, radius graph")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--seed", type=int, default=0, help="the seed of one data file")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE, choices=list(RECIPES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only rewrite the markdown table")
    args = parser.parse_args()
    if args.case:
        if args.out is None:
            parser.error("--case needs --out")
        write_case(args.out, args.case, args.n, args.seed, meta=args.meta, periodic=args.periodic)
        print(f"{args.out}: {args.case}, n = {args.n}, seed {args.seed}")
        return
    version = commit()
    if not args.table:
        names = list(CASES) if args.cases == "all" else args.cases.split(",")
        done = {row["key"] for row in read_rows(args.results) if row["commit"] == version}
        for name in names:
            for seed in parse_seeds(args.seeds):
                if run_key(name, args.n, seed, args.recipe, args.periodic) in done:
                    continue
                row = run_one(name, args.n, seed, version, args.recipe, args.periodic)
                append_rows(args.results, [row])
                print(f"{row['key']}: passed={row['passed']} exact={row['exact']} {row['wall_seconds']} s law/net "
                      f"error {row['law_force_error']:.2g}/{row['network_force_error']:.2g} {row['law_found']}",
                      flush=True)
    print(write_tables(read_rows(args.results), args.results.with_suffix(".md")))


if __name__ == "__main__":
    main()
