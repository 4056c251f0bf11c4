"""Accuracy of accelerations estimated from positions alone (`eqlearn.physics.derivatives`).

Three measurements, each against exact accelerations:

1. Circular orbits (analytic), evenly and unevenly spaced times, with white noise on the
   positions: the automatic choice (window picked from the data) against the best fixed window in
   hindsight and against two smoothing splines (scipy's `make_smoothing_spline`, cubic, smoothing
   by generalised cross-validation; and a quintic `UnivariateSpline` with s = T·σ̂², given the
   estimated noise σ̂). This decides the method for uneven times.
2. Simulated laws with 100 stored states per system at the law's default spacing and at a tenth of
   it: float32 states at the simulator's tolerance (an ordinary `eqlearn simulate` file) against
   what `simulate --positions-only` writes (float64 states, tolerance 1e-10).
3. The solar system from DE421, daily for 30 years, against accelerations from the ephemeris'
   own Chebyshev velocities (a 5-point difference of them, h = 0.02 days).

    nice python benchmarks/derivative_accuracy.py      # about 2 minutes on 2 cores
"""
from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.interpolate import UnivariateSpline, make_smoothing_spline

from eqlearn.physics import LAWS, simulate
from eqlearn.physics.derivatives import POLYORDER, WINDOWS, differentiate, estimate_derivatives, evenly_spaced
from eqlearn.physics.observation import OBSERVATION_TOLERANCE

RESULTS = Path(__file__).parent / "results" / "derivatives.md"
NOISES = (0.0, 1e-8, 1e-6, 1e-4, 1e-2)


def relative_error(estimate, truth, axis=None):
    return np.sqrt(np.mean((estimate - truth) ** 2, axis=axis) / np.mean(truth ** 2, axis=axis))


def circular_orbits(times: np.ndarray, systems: int = 3):
    """Positions and accelerations [S, T, 2, 2]: two bodies on unit circles at ω = 1 and 2."""
    rates = np.array([1.0, 2.0])[:, None]
    angle = rates * times[None, :]
    x = np.stack([np.cos(angle), np.sin(angle)], -1).transpose(1, 0, 2)
    return np.repeat(x[None], systems, 0), np.repeat((-x * rates ** 2)[None], systems, 0)


def spline_accelerations(positions, times, noise_estimate: float | None):
    """Second derivatives of a smoothing spline through every series: GCV cubic (noise_estimate
    None) or quintic with s = T·σ̂²."""
    series = positions.transpose(0, 2, 3, 1).reshape(-1, positions.shape[1])
    rows = []
    for row in series:
        if noise_estimate is None:
            spline = make_smoothing_spline(times, row)
        else:
            spline = UnivariateSpline(times, row, k=5, s=len(times) * noise_estimate ** 2)
        rows.append(spline.derivative(2)(times))
    shape = (positions.shape[0], positions.shape[2], positions.shape[3], positions.shape[1])
    return np.asarray(rows).reshape(shape).transpose(0, 3, 1, 2)


def orbit_table() -> list[str]:
    rows = ["| times | T | noise σ | method | window | σ̂ | estimated error | true error | best fixed window (error) "
            "| cubic spline, GCV | quintic spline, s = Tσ̂² |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for steps in (100, 1000):
        for spacing in ("even", "uneven"):
            times = np.linspace(0, 2 * np.pi, steps)
            if spacing == "uneven":
                step = 2 * np.pi / steps
                times = step * (np.arange(steps) + rng.uniform(-0.4, 0.4, steps))
            for noise in NOISES:
                clean, truth = circular_orbits(times)
                positions = clean + noise * rng.standard_normal(clean.shape)
                grid = np.broadcast_to(times, positions.shape[:2])
                estimate, accelerations, _ = estimate_derivatives(positions, grid)
                even = evenly_spaced(grid)
                fixed = {w: relative_error(differentiate(positions, grid, w, POLYORDER, 2, even), truth)
                         for w in WINDOWS if w <= steps}
                best = min(fixed, key=fixed.get)
                cubic = relative_error(spline_accelerations(positions, times, None), truth)
                quintic = relative_error(spline_accelerations(positions, times, max(estimate.position_noise, 1e-15)), truth)
                rows.append(f"| {spacing} | {steps} | {noise:.0e} | {estimate.method} | {estimate.window} "
                            f"| {estimate.position_noise:.1e} | {estimate.relative_acceleration_error:.1e} "
                            f"| **{relative_error(accelerations, truth):.1e}** | {best} ({fixed[best]:.1e}) "
                            f"| {cubic:.1e} | {quintic:.1e} |")
    return rows


def simulated_table() -> list[str]:
    rows = ["| law | stored step | states | window | estimated error | true error (RMS) | median system | 90th pct system |",
            "|---|---|---|---|---|---|---|---|"]
    for law, potential in LAWS.items():
        for scale in (1.0, 0.1):
            dt = potential.default_dt * scale
            for label, settings in (("float32, tol 1e-7", {}),
                                    ("float64, tol 1e-10", {"dtype": np.float64, "tolerance": OBSERVATION_TOLERANCE})):
                data = simulate(potential, n=4, dim=2, sims=50, steps=100, dt=dt, seed=0, **settings)
                truth = data.accelerations.astype(np.float64)
                estimate, accelerations, _ = estimate_derivatives(
                    data.positions.astype(np.float64), np.broadcast_to(data.times, data.positions.shape[:2]))
                moving = np.any(truth != 0, axis=(1, 2, 3))  # systems where some force acts
                per_system = relative_error(accelerations[moving], truth[moving], axis=(1, 2, 3))
                rows.append(f"| {law} | {dt:g}{' (default)' if scale == 1 else ''} | {label} | {estimate.window} "
                            f"| {estimate.relative_acceleration_error:.1e} | **{relative_error(accelerations, truth):.1e}** "
                            f"| {np.median(per_system):.1e} | {np.quantile(per_system, 0.9):.1e} |")
    return rows


def solar_table() -> list[str]:
    try:
        from eqlearn.physics.ephemeris import AU_KM, BODIES, _open_de421, julian_date, solar_system
    except ImportError:
        return ["(skipped: needs eqlearn[astro])"]
    rows = ["| span | step (days) | window | σ̂ (au) | estimated error (all) | true error (all) | body | true error of the body |",
            "|---|---|---|---|---|---|---|---|"]
    for start, years, step in (("1980-01-01", 30.0, 1.0), ("1980-01-01", 5.0, 0.25)):
        data = solar_system(start, years, step)
        estimate, accelerations, _ = estimate_derivatives(data.positions, data.times[None])
        truth = np.stack([_chebyshev_accelerations(_open_de421, BODIES[name], julian_date(datetime.fromisoformat(start).date()),
                                                   data.times) for name in data.names], axis=1) / AU_KM
        for index, name in enumerate(data.names):
            error = relative_error(accelerations[0, :, index], truth[:, index])
            head = (f"| {years:g} years | {step:g} | {estimate.window} | {estimate.position_noise:.1e} "
                    f"| {estimate.relative_acceleration_error:.1e} | {relative_error(accelerations[0], truth):.1e}"
                    if index == 0 else "| | | | | |")
            rows.append(f"{head} | {name} | {error:.1e} |")
    return rows


def _chebyshev_accelerations(open_kernel, chain, start_jd: float, times: np.ndarray) -> np.ndarray:
    """Accelerations [T, 3] in km/day² from a 5-point difference of the ephemeris' velocities."""
    kernel, h = open_kernel(), 0.02
    try:
        def velocity(offset):
            return sum(kernel[c, t].compute_and_differentiate(start_jd, times + offset)[1] for c, t in chain)

        return ((velocity(-2 * h) - 8 * velocity(-h) + 8 * velocity(h) - velocity(2 * h)) / (12 * h)).T
    finally:
        kernel.close()


def main() -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Accelerations estimated from positions", "",
        f"Measured {now} by `benchmarks/derivative_accuracy.py` on {platform.machine()}, numpy {np.__version__}.",
        "Errors are RMS(estimate − truth) / RMS(truth) over every state, particle and axis, end points included.",
        f"The method: local polynomials of degree {POLYORDER} (Savitzky–Golay on even times), window chosen from the data "
        "(`eqlearn.physics.derivatives`); \"estimated error\" is what a run reports in `meta[\"derivatives\"]`.", "",
        "## 1. Circular orbits (ω = 1 and 2 over t = 0..2π), white noise of σ on unit-radius positions", "",
        *orbit_table(), "",
        "## 2. Simulated laws: n = 4, d = 2, 50 systems x 100 stored states", "",
        "Per-system errors leave out systems on which no force ever acts (discontinuous: all pairs closer than 2).", "",
        *simulated_table(), "",
        "## 3. Solar system, DE421 (10 bodies, barycentric, au and days)", "",
        *solar_table(), "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
