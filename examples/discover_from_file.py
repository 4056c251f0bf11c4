"""Discover a pair force law from a data file that says nothing about it.

Simulate a small set of four-body systems under gravity (-m1*m2/r), keep only the arrays
(positions, accelerations, masses, velocities, times: no law, no potential), then run discovery on
the file and print the law it reads from the network's weights. Toy sizes and one model
(`recipe="central"`) keep it to about a minute on a laptop CPU; `eqlearn discover --data FILE` is
the full-size run (5,000 systems, the default portfolio of models).

    python examples/discover_from_file.py runs/example
"""
import sys
from pathlib import Path

from eqlearn import discover, get_potential, simulate
from eqlearn.physics import save_dataset


def main(out: str = "runs/example", sims: int = 400, epochs: int = 8, batch_size: int = 64, seed: int = 0) -> dict:
    """Simulate, write a bare data file, discover from it; returns the run's equations.json as a dict."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "gravity.npz"
    trajectories = simulate(get_potential("r2"), n=4, dim=2, sims=sims, steps=4, seed=seed)
    save_dataset(data, trajectories, metadata=False)  # the file carries arrays only, never the law

    discovery = discover(data=str(data), out=str(folder / "run"), recipe="central", epochs=epochs,
                         batch_size=batch_size, seed=seed, progress=False)
    equations = discovery.equations()
    print(f"data {data}: n={equations['n']}, dim={equations['dim']}")
    print(f"found: {discovery.found['quantity']}")
    for axis, law in discovery.found["law"].items():
        print(f"  {axis} = {law}")
    verdict = equations["truth_free"]
    print(f"law alone: held-out force error {verdict['law_force_error']:.2g} "
          f"(network {verdict['network_force_error']:.2g}); explains the data: {verdict['explains_data']}")
    print(f"run directory: {folder / 'run'}")
    return equations


if __name__ == "__main__":
    main(*sys.argv[1:2])
