"""Adaptive Dormand-Prince 5(4) integration of many independent systems at once.

Every system keeps its own step size and steps freely across the output times, which are filled
in by the method's 4th-order dense output (as scipy's RK45 and odeint do). So one close encounter
slows only its own system, and a system that needs few steps is not held back by the output grid.
Each iteration advances every system that has not yet reached the final time; this is the scheme
of the reference data sets (an adaptive Runge-Kutta solver), vectorised with numpy.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from eqlearn.errors import UserInputError

# Dormand & Prince (1980) tableau; the right-hand side is autonomous, so the nodes are not needed.
_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
]
_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]
# Fifth- minus fourth-order weights over the six stages and the derivative at the new state.
_E = [-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40]
# Dense output (Shampine 1986): stage j's weight at fraction s of the step is sum_p P[j][p] s^(p+1).
_P = np.array([
    [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0, 0, 0, 0],
    [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0, 127303824393 / 49829197408, -318862633887 / 49829197408,
     701980252875 / 199316789632],
    [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
])
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0
#: Smallest step, relative to the output spacing, before a system is declared stuck.
_MIN_RELATIVE_STEP = 1e-12


def _combine(weights, stages):
    """sum_j weights[j] * stages[j], skipping stages whose (scalar) weight is exactly zero."""
    return sum(w * k for w, k in zip(weights, stages) if not (np.isscalar(w) and w == 0))


def _per_system(values: np.ndarray, like: np.ndarray, axis: int) -> np.ndarray:
    """Per-system scalars [S] shaped to broadcast against a state with systems along `axis`."""
    shape = [1] * like.ndim
    shape[axis] = -1
    return values.reshape(shape)


def _trial_step(derivative: Callable, y, dydt, h):
    """One step of size h (per system) for every system: the 5th-order state, the seven stages,
    and the error estimate."""
    stages = [dydt]
    for row in _A[1:]:
        stages.append(derivative(y + h * _combine(row, stages)))
    y_new = y + h * _combine(_B, stages)
    stages.append(derivative(y_new))
    return y_new, stages, h * _combine(_E, stages)


def _dense_output(y, stages, h, fraction, axis):
    """The state a `fraction` [S] of the way through each system's accepted step of size h."""
    powers = np.cumprod(np.repeat(fraction[None, :], 4, axis=0), axis=0)  # s, s^2, s^3, s^4
    weights = [_per_system(w, y, axis) for w in _P @ powers]
    return y + h * _combine(weights, stages)


def _control(error, y_old, y_new, rtol, atol, step, h, other_axes):
    """Which trial steps pass the error test, and every system's next step size."""
    scale = atol + rtol * np.maximum(np.abs(y_old), np.abs(y_new))
    norm = np.sqrt(np.mean((error / scale) ** 2, axis=other_axes))
    norm = np.where(np.isfinite(norm), norm, np.inf)
    accepted = norm <= 1
    factor = np.clip(_SAFETY * np.maximum(norm, 1e-10) ** -0.2, _MIN_FACTOR, _MAX_FACTOR)
    new_h = step * np.where(accepted, factor, np.minimum(factor, 1.0))
    # A step cut short to land on the end time says nothing against the longer one.
    return accepted, np.where(accepted & (step < h), np.maximum(new_h, h), new_h)


def dormand_prince(derivative_for: Callable, y0: np.ndarray, times: np.ndarray, rtol: float,
                   atol: float, axis: int = 0, on_output: Callable[[int], None] | None = None,
                   dtype=np.float64, block: int | None = None) -> np.ndarray:
    """States [T, ...] of the systems in y0 (systems along `axis`) at each of `times`.

    `times[0]` is the start. `derivative_for(systems)` gives the right-hand side dy/dt = f(y) of
    the systems with those indices (their parameters, such as masses, differ), for a state that
    holds only those systems. A step is accepted when the RMS over the system's components of
    error / (atol + rtol * |y|) is at most 1, the usual local error control of scipy and odeint.
    Each iteration steps the unfinished systems `block` at a time (all at once if None), so the
    temporaries stay small while the few slow systems still share their iterations.
    `on_output(count)` is told how many (system, time) states each step filled in. The
    integration runs in float64 whatever the `dtype` of the returned states.
    """
    y = np.array(y0, dtype=np.float64)
    axis %= y.ndim
    systems, end = y.shape[axis], float(times[-1])
    other_axes = tuple(a for a in range(y.ndim) if a != axis)

    def at(index):
        return (slice(None),) * axis + (index,)

    out = np.empty((len(times),) + y.shape, dtype=dtype)
    out[0] = y
    next_output = np.ones(systems, dtype=np.int64)
    dydt = derivative_for(np.arange(systems))(y)
    t = np.full(systems, float(times[0]))
    h = np.full(systems, float(times[1] - times[0]) if len(times) > 1 else 1.0)
    min_step = _MIN_RELATIVE_STEP * h[0]

    def advance(active):
        """One trial step of the `active` systems; accepted ones move and fill in outputs."""
        y_old = y[at(active)]
        remaining = end - t[active]
        step = np.minimum(h[active], remaining)
        y_new, stages, error = _trial_step(derivative_for(active), y_old, dydt[at(active)],
                                           _per_system(step, y_old, axis))
        accepted, h[active] = _control(error, y_old, y_new, rtol, atol, step, h[active],
                                       other_axes)
        if np.any(h[active] < min_step):
            raise UserInputError(f"integration stalled near t = {t[active].min():g}: the step"
                                 " size fell below 1e-12 of the output spacing; the force is"
                                 " singular or too stiff for these states")

        moved, step, y_old = active[accepted], step[accepted], y_old[at(accepted)]
        stages = [k[at(accepted)] for k in stages]
        t_old = t[moved]
        t_new = np.where(step >= remaining[accepted], end, t_old + step)
        crossed = np.searchsorted(times, t_new, side="right") - next_output[moved]
        for j in range(crossed.max(initial=0)):
            inside = crossed > j
            index = next_output[moved[inside]] + j
            fraction = (times[index] - t_old[inside]) / step[inside]
            state = _dense_output(y_old[at(inside)], [k[at(inside)] for k in stages],
                                  _per_system(step[inside], y_old, axis), fraction, axis)
            out[(index,) + at(moved[inside])] = np.moveaxis(state, axis, 0)
        if on_output is not None:
            on_output(int(crossed.sum()))
        next_output[moved] += crossed
        t[moved] = t_new
        y[at(moved)], dydt[at(moved)] = y_new[at(accepted)], stages[-1]

    active = np.flatnonzero(next_output < len(times))
    with np.errstate(all="ignore"):  # a non-finite trial step is rejected, not reported
        while active.size:
            for part in np.array_split(active, -(-active.size // (block or active.size))):
                advance(part)
            active = active[next_output[active] < len(times)]
    return out
