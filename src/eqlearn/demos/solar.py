"""The solar system as a demo: DE421 positions in, the law and every body's mass out, beside JPL's.

`eqlearn demo solar-system` writes the ephemeris window (no masses), runs the default discovery on
it and draws the orbits and the learned masses against JPL's (log scale): Newton's law and every
body's mass, from positions alone (docs/guide.md, "Learned masses and charges").
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from eqlearn.discovery.plots import plot_learned_masses
from eqlearn.discovery.result import reported_law
from eqlearn.physics.dataset import save_dataset
from eqlearn.vocabulary.files import write_text_atomically


@dataclass
class SolarConfig:
    seed: int = 0
    epochs: int | None = None  # the default recipe's when None
    start: str = "1980-01-01"
    years: float = 30.0
    step_days: float = 1.0


def run(config: SolarConfig, out: str | Path, progress: bool = True) -> dict:
    """Write the window, discover, plot; metrics.json holds the law, the masses and the errors."""
    from eqlearn.discovery.config import DiscoverConfig
    from eqlearn.discovery.portfolio import run_discovery
    from eqlearn.physics.ephemeris import solar_system

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trajectories = solar_system(config.start, config.years, config.step_days)
    data = out / "solar.npz"
    save_dataset(data, trajectories)
    discovery = run_discovery(DiscoverConfig(data=str(data), out=str(out / "run"), seed=config.seed, epochs=config.epochs,
                                             progress=progress), log=lambda _: None)
    equations = discovery.equations()
    table = equations["particles"]["table"]
    plot_orbits(trajectories.positions[0], trajectories.names, out / "orbits.png")
    plot_learned_masses(table, out / "masses.png")
    metrics = {"config": asdict(config), "law": reported_law(equations),
               "truth_free": {k: equations["truth_free"].get(k) for k in ("law_force_error", "network_force_error")},
               "masses": {row["name"]: {"learned": row["learned_mass"], "jpl": row.get("true_mass"), "ratio": row.get("ratio")}
                          for row in table}}
    write_text_atomically(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def plot_orbits(positions: np.ndarray, names, path: Path) -> None:
    """The bodies' paths in the ecliptic-ish x-y plane: the inner system and the whole."""
    fig = Figure(figsize=(10, 5))
    for ax, limit, title in zip(fig.subplots(1, 2), (2.0, None), ("inner system", "all bodies")):
        for k, name in enumerate(names):
            ax.plot(positions[:, k, 0], positions[:, k, 1], lw=0.6, label=name)
        if limit:
            ax.set(xlim=(-limit, limit), ylim=(-limit, limit))
        ax.set(xlabel="x (au)", ylabel="y (au)", title=title, aspect="equal")
    fig.axes[1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def summary(metrics: dict) -> list[str]:
    lines = ["law found: " + "; ".join(metrics["law"]),
             f"relative net-force error: law alone {metrics['truth_free']['law_force_error']:.3g}, "
             f"network {metrics['truth_free']['network_force_error']:.3g}",
             "masses relative to the Sun (learned / JPL's DE421):"]
    lines += [f"  {name:8s} {m['learned']:12.6g} {m['jpl']:12.6g}  ratio {m['ratio']:.5f}" for name, m in metrics["masses"].items()]
    return lines
