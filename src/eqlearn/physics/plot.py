"""Draw a few simulated systems to a PNG so a user can see what was simulated."""
from __future__ import annotations

from matplotlib.figure import Figure

from eqlearn.physics.simulator import Trajectories  # noqa: E402
from eqlearn.vocabulary.files import atomic_output  # noqa: E402


def plot_trajectories(trajectories: Trajectories, path, systems: int = 4) -> None:
    """Paths of every particle in the first `systems` systems (x-y plane), one panel each.

    Line width grows with mass (where the data carry masses); a dot marks the start.
    """
    count = min(systems, len(trajectories))
    figure = Figure(figsize=(3.2 * count, 3.4))
    axes = figure.subplots(1, count, squeeze=False)
    meta = trajectories.meta
    for s, ax in enumerate(axes[0]):
        for particle in range(trajectories.positions.shape[2]):
            path_xy = trajectories.positions[s, :, particle, :2]
            mass = 1.0 if trajectories.masses is None else float(trajectories.masses[s, particle])
            width = 0.6 + mass ** 0.5
            line, = ax.plot(path_xy[:, 0], path_xy[:, 1], lw=width, alpha=0.8)
            ax.plot(*path_xy[0], "o", color=line.get_color(), ms=4)
        ax.set_title(f"system {s}", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    figure.suptitle(f"{meta.get('law')}: {meta.get('potential')}, n={meta.get('n')},"
                    f" d={meta.get('dim')}, t = 0..{trajectories.times[-1]:g}", fontsize=10)
    figure.tight_layout()
    with atomic_output(path) as file:
        figure.savefig(file, format="png", dpi=110)
