"""The truth-free verdict: how well a read-out law alone explains held-out data, next to the network.

No truth goes in. The law's net forces on held-out graphs are compared with the data and with the
trained network's; where the data hold trajectories, the law is also integrated over them.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.training import GraphSet, predict
from eqlearn.readout.canonical import unit_vector_form
from eqlearn.readout.law import PairLaw, formula_size, relative_squares, root_mean, squared_relative_errors
from eqlearn.readout.refit import RefittedMessage
from eqlearn.readout.row_weights import target_noise
from eqlearn.vocabulary.periodic import minimum_image

#: A network whose relative net-force error is above this has not fitted the data: no law read
#: from it can be trusted, whatever the law's own error. Where the targets carry a noise estimate
#: (weak-form windows), the error their noise alone leaves is allowed on top (in quadrature).
NETWORK_FITS = 0.05
#: Targets whose estimated noise is above this fraction of their median size tell no law from
#: another (for targets of pure noise it is ~1): nothing read from them is trusted.
TOO_NOISY = 0.5
#: The law explains the data as well as the network when its error is at most this factor times
#: the network's (plus a floor for float32 rounding of the stored data).
AS_GOOD_AS_NETWORK = 1.1
ERROR_FLOOR = 1e-4
#: Stored trajectories at least this long also get the law's rollout error (truth-free verdict).
ROLLOUT_MIN_STEPS = 10
#: The rollout integrates at most this many held-out systems of at most ROLLOUT_PARTICLES particles
#: in all: every right-hand side evaluation sums over all of them, and in a dense periodic box of
#: 64 argon atoms, 64 systems took 90 s of RK45 steps against 16 s of training.
ROLLOUT_SYSTEMS = 64
ROLLOUT_PARTICLES = 512
#: Resamples of the held-out graphs behind the interval of the law-to-network error ratio.
RATIO_RESAMPLES = 1000


def truth_free_verdict(law: list[sympy.Expr] | None, model: ParticleGNN, test_set: GraphSet, trajectories,
                       softening: float, refitted: list[RefittedMessage], particle_masses: np.ndarray | None = None,
                       law_set: GraphSet | None = None, particle_charges: np.ndarray | None = None) -> dict:
    """How well the law alone explains held-out systems, next to the trained network (no truth used).

    Net forces on the held-out graphs: relative error of the law and of the network. Where the
    data hold trajectories (≥ ROLLOUT_MIN_STEPS stored steps with times and velocities), also the
    law integrated from held-out initial states over the stored horizon. Where the run learned the
    masses, the law is written in `particle_masses` [S, n] (reference = 1) and `law_set` holds the
    test graphs with them, while `test_set` has the network's own; likewise learned charges
    (`particle_charges`, reference = +1).
    """
    predicted = predict(model, test_set).double().numpy()
    masses = test_set.masses.double().numpy()[..., None]
    target = test_set.accelerations.double().numpy() * masses
    network_errors = squared_relative_errors(predicted * masses, target)
    network_error = root_mean(network_errors)
    noise, to_signal = target_noise_error(test_set, target)
    fits = network_error <= math.hypot(NETWORK_FITS, noise) and to_signal <= TOO_NOISY
    verdict = {"held_out_graphs": len(test_set), "network_force_error": network_error, "network_fits_data": bool(fits)}
    if test_set.target_noise is not None:
        verdict.update(target_noise_error=noise, target_noise_to_size=to_signal)
    if law is None:
        verdict.update(law_force_error=None, explains_data=None,
                       note="the messages are not forces (node model or message size), so the law is no model alone")
        return verdict
    law_set = test_set if law_set is None else law_set
    pair_law = PairLaw(law, model.edges, softening)
    law_forces = law_set.average(pair_law.net_forces(*law_set.inputs))  # on windows, their weighted means
    law_target = law_set.accelerations.double().numpy() * law_set.masses.double().numpy()[..., None]
    law_errors = squared_relative_errors(law_forces, law_target)
    verdict["law_force_error"] = root_mean(law_errors)
    verdict["law_to_network"] = error_ratio(law_errors, network_errors)
    # the size of the law as reported (unit-vector form, where softening is written as r): in the raw
    # message variables a softened exact term (Δ m1 m2/(r² - 0.01 r)) is longer than a wrong bare one
    # (Δ m1 m2/r²), and the portfolio would prefer the wrong law between two of equal error
    # (the raw size where the unit-vector form of an inexact law is the longer: mixed powers written over
    # one denominator)
    reported = formula_size([unit_vector_form(e, dim=test_set.accelerations.shape[-1], softening=softening) for e in law])
    verdict["law_size"] = min(reported, formula_size(law))
    verdict["explains_data"] = bool(verdict["law_force_error"] <= AS_GOOD_AS_NETWORK * verdict["network_force_error"]
                                    + ERROR_FLOOR)
    verdict["rollout"] = _rollout_error(pair_law, trajectories, particle_masses, particle_charges)
    verdict["candidates"] = [{"axis": m.axis, "front": m.candidates} for m in refitted]
    return verdict


def target_noise_error(samples: GraphSet, target: np.ndarray) -> tuple[float, float]:
    """(the relative net-force error that the estimated noise of the `samples`' targets alone leaves
    on the net forces `target` [G, n, d]: the floor under any model's error; that noise over the
    targets' median size), both 0 where the samples carry no noise estimate."""
    noise = target_noise(samples)  # [G, n] per axis
    if noise is None:
        return 0.0, 0.0
    squares = target.shape[-1] * noise**2
    size = float(np.median(np.linalg.norm(target, axis=-1)))
    return root_mean(relative_squares(squares, target)), float(np.sqrt(np.median(squares)) / size) if size > 0 else math.inf


def error_ratio(law_errors: np.ndarray, network_errors: np.ndarray, seed: int = 0) -> dict:
    """The law's held-out error over the network's, with a 95 % bootstrap interval over the held-out
    graphs (`law_errors`, `network_errors`: squared relative errors [graphs, n], paired): whether a
    law is worse than the network for these data, or only on the few graphs that happened to be held out."""
    per_graph = lambda errors: errors.reshape(len(errors), -1).mean(axis=1)
    law, network = per_graph(law_errors), per_graph(network_errors)
    ratio = lambda a, b: np.sqrt(a / np.maximum(b, 1e-300))
    resamples = np.random.default_rng(seed).integers(0, len(law), size=(RATIO_RESAMPLES, len(law)))
    with np.errstate(invalid="ignore", over="ignore"):
        low, high = np.quantile(ratio(law[resamples].mean(axis=1), network[resamples].mean(axis=1)), [0.025, 0.975])
    return {"ratio": float(ratio(law.mean(), network.mean())), "interval_95": [float(low), float(high)]}


def _rollout_error(pair_law: PairLaw, trajectories, masses: np.ndarray | None = None,
                   charges: np.ndarray | None = None) -> dict | None:
    """The law integrated from the first stored state of held-out systems over their stored times:
    position error relative to each system's spread, at the last stored time (to the nearest image
    in a periodic box; none where the box changes over time)."""
    t = trajectories
    if t.times is None or t.velocities is None or t.positions.shape[1] < ROLLOUT_MIN_STEPS:
        return None
    systems = min(ROLLOUT_SYSTEMS, max(1, ROLLOUT_PARTICLES // t.positions.shape[2]))
    box = None if t.box is None else np.array(t.state_boxes[:systems, 0], dtype=float)
    if box is not None and not np.allclose(t.state_boxes[:systems], box[:, None]):
        return None
    x, v = t.positions[:systems].astype(float), t.velocities[:systems].astype(float)
    masses = (t.masses if masses is None else masses)[:systems].astype(float)
    if charges is None:
        charges = np.zeros_like(masses) if t.charges is None else t.charges
    charges = charges[:systems].astype(float)
    times = np.broadcast_to(np.asarray(t.times, dtype=float), t.positions.shape[:2])[: len(x)]
    if np.allclose(times, times[:1]):  # one clock for all systems: integrate them together
        predicted = pair_law.rollout(x[:, 0], v[:, 0], masses, charges, times[0], box)
    else:
        predicted = np.concatenate([pair_law.rollout(x[s:s + 1, 0], v[s:s + 1, 0], masses[s:s + 1], charges[s:s + 1], times[s],
                                                     None if box is None else box[s:s + 1]) for s in range(len(x))])
    spread = np.sqrt(((x - x.mean(axis=2, keepdims=True)) ** 2).sum(-1).mean(axis=(1, 2)))
    missed = minimum_image(predicted[:, -1] - x[:, -1], None if box is None else box[:, None])
    error = np.sqrt((missed**2).sum(-1).mean(-1)) / spread
    return {"systems": len(x), "horizon": float(np.max(times[:, -1] - times[:, 0])), "steps": int(times.shape[1]),
            "median_position_error": float(np.nanmedian(error)), "max_position_error": float(np.nanmax(error))}
