"""Speed and accuracy of the n-body simulator (issue: 10,000 systems x 500 steps, n=4, d=2, < 60 s).

Reports simulated particle-steps per second (stored states x particles / wall time) for n = 4, 8
and d = 2, 3, the cost of each law, the full-size run, and the accuracy of the adaptive integrator:
energy drift of conservative laws, momentum drift, and the position error against scipy's DOP853
at tolerance 1e-12. Wall times depend on how busy the machine is, so CPU times and the load
average are reported too.

    nice python benchmarks/simulator_speed.py            # ~3-5 minutes on 2 cores
    nice python benchmarks/simulator_speed.py --quick    # skip the 10,000-system run
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from scipy.integrate import solve_ivp

from eqlearn.physics import LAWS, pair_accelerations, simulate, total_energy
from eqlearn.physics.interactions import particle_major_accelerations
from eqlearn.physics.simulator import BLOCK, TOLERANCE

RESULTS = Path(__file__).parent / "results" / "simulator_speed.md"


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def speed_table(sims: int, steps: int) -> list[str]:
    rows = ["| law | n | d | systems x steps | wall s | CPU s | particle-steps/s |",
            "|---|---|---|---|---|---|---|"]
    cases = [("spring", n, d) for n in (4, 8) for d in (2, 3)]
    cases += [(law, 4, 2) for law in LAWS if law != "spring"]
    for law, n, d in cases:
        _, wall, cpu = timed(simulate, LAWS[law], n, d, sims, steps, seed=0)
        rows.append(f"| {law} | {n} | {d} | {sims} x {steps} | {wall:.2f} | {cpu:.2f} |"
                    f" {sims * steps * n / wall:,.0f} |")
        print(rows[-1], flush=True)
    return rows


def full_run(sims: int, steps: int) -> list[str]:
    lines = []
    for law in ("spring", "r2"):
        _, wall, cpu = timed(simulate, LAWS[law], 4, 2, sims, steps, seed=0)
        lines.append(f"- {law}, n=4, d=2, {sims:,} systems x {steps} steps: **{wall:.1f} s wall**"
                     f" ({cpu:.1f} s CPU, {sims * steps * 4 / wall:,.0f} particle-steps/s)")
        print(lines[-1], flush=True)
    return lines


def _reference_positions(data, s, potential):
    """Positions of system s from scipy's DOP853 at rtol = atol = 1e-12, from the same start."""
    n, d = data.positions.shape[2:]
    m, q = data.masses[s].astype(float), data.charges[s].astype(float)

    def rhs(t, y):
        x, v = y.reshape(2, n, d)
        return np.concatenate([v.ravel(), pair_accelerations(x, v, m, q, potential).ravel()])

    y0 = np.stack([data.positions[s, 0], data.velocities[s, 0]]).astype(float).ravel()
    solution = solve_ivp(rhs, (0, data.times[-1]), y0, method="DOP853", t_eval=data.times,
                         rtol=1e-12, atol=1e-12)
    return solution.y[: n * d].T.reshape(-1, n, d)


def accuracy_table(sims: int, steps: int, reference_systems: int) -> list[str]:
    rows = ["| law | systems x steps | energy drift / energy scale, median / max |"
            " momentum drift (relative), max | position error vs DOP853 (first"
            f" {reference_systems} systems), median / max |",
            "|---|---|---|---|---|"]
    for law in ("spring", "r1", "r2", "charge"):
        potential = LAWS[law]
        data = simulate(potential, 4, 2, sims, steps, seed=1)
        x, v = data.positions.astype(float), data.velocities.astype(float)
        m, q = data.masses[:, None].astype(float), data.charges[:, None].astype(float)
        energy = total_energy(x, v, m, q, potential)
        kinetic = 0.5 * (m * (v * v).sum(axis=-1)).sum(axis=-1)
        # Relative to the system's energy scale, not to E(0), which can be ~0 for bound systems.
        scale = (kinetic + np.abs(energy - kinetic)).max(axis=1)
        drift = np.abs(energy - energy[:, :1]).max(axis=1) / scale
        momentum = (m[..., None] * v).sum(axis=2)
        momentum_scale = (m[..., None] * np.abs(v)).sum(axis=2).max(axis=(1, 2))
        momentum_drift = np.abs(momentum - momentum[:, :1]).max(axis=(1, 2)) / momentum_scale
        errors = [np.abs(_reference_positions(data, s, potential) - data.positions[s]).max()
                  for s in range(reference_systems)]
        rows.append(f"| {law} | {sims} x {steps} (t = 0..{data.times[-1]:g}) |"
                    f" {np.median(drift):.1e} / {drift.max():.1e} | {momentum_drift.max():.1e} |"
                    f" {np.median(errors):.1e} / {max(errors):.1e} |")
        print(rows[-1], flush=True)
    return rows


def backend_table(repeats: int = 100) -> list[str]:
    """One force evaluation (n=4, d=2) in numpy and in torch, in the simulator's layout."""
    rng = np.random.default_rng(0)
    full = (rng.normal(size=(4, 10_000, 2)), rng.normal(size=(4, 10_000, 2)),
            np.exp(rng.normal(size=(4, 10_000))), rng.normal(size=(4, 10_000)))
    rows = ["| backend | systems | ms per force evaluation |", "|---|---|---|"]
    torch.set_num_threads(1)
    for size in (BLOCK, 10_000):
        for name, convert in [("numpy", np.ascontiguousarray), ("torch, 1 thread", torch.tensor)]:
            inputs = tuple(convert(a[:, :size]) for a in full)
            start = time.perf_counter()
            for _ in range(repeats):
                particle_major_accelerations(*inputs, LAWS["spring"])
            rows.append(f"| {name} | {size} | {(time.perf_counter() - start) / repeats * 1e3:.3f} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-system run")
    args = parser.parse_args()
    load = os.getloadavg()
    header = [
        "# Simulator speed and accuracy",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `benchmarks/simulator_speed.py`"
        f" on {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared with"
        f" other jobs (load average at start {load[0]:.1f}); numpy {np.__version__}, float64"
        f" integration, float32 storage.",
        "",
        f"Integrator: adaptive Dormand-Prince 5(4), a step size per system, local error tolerance"
        f" rtol = atol = {TOLERANCE:g}, 4th-order dense output at the stored times, systems in"
        f" blocks of {BLOCK}. Particle-steps = stored states x particles.",
        "Energy drift: max over time of |E(t) - E(0)|, divided by the system's energy scale"
        " max(kinetic + |potential|), from the stored float32 states. Position error: max over"
        " particles and stored times against scipy's DOP853 at rtol = atol = 1e-12 from the same"
        " start (chaotic systems amplify any difference, so the max grows with time).",
        "",
    ]
    sections = ["## Speed", ""] + speed_table(2048, 200) + [""]
    if not args.quick:
        sections += ["## Full-size run (issue target: < 60 s on 2 cores)", ""]
        sections += full_run(10_000, 500) + [""]
    sections += ["## Accuracy (n=4, d=2)", ""] + accuracy_table(256, 500, 8) + [""]
    sections += ["## numpy or torch for the pair sums", ""] + backend_table() + [""]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(header + sections))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
