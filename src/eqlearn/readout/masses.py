"""Learned masses and charges as a run reports them: per particle, in the reference particle's
unit, beside the true ones where the data (or their metadata, e.g. JPL's masses) say."""
from __future__ import annotations

import numpy as np

from eqlearn.gnn.particles import LearnedMasses
from eqlearn.vocabulary.symbols import m1 as sym_m1
from eqlearn.vocabulary.symbols import m2 as sym_m2
from eqlearn.vocabulary.symbols import q1 as sym_q1
from eqlearn.vocabulary.symbols import q2 as sym_q2


def particle_names(trajectories) -> list[str]:
    names = getattr(trajectories, "names", None)
    n = trajectories.positions.shape[2]
    return [str(x) for x in names] if names is not None else [str(i) for i in range(n)]


def reference_name(masses: LearnedMasses, trajectories) -> str:
    system, particle = masses.reference
    return f"particle {particle_names(trajectories)[particle]} of system {system}"


def true_masses(trajectories) -> np.ndarray | None:
    """[S, n] masses to judge learned ones by: the file's own, or its meta's `reference_masses`
    (name → mass, e.g. JPL's for the solar system); None when the data hold neither."""
    if trajectories.masses is not None:
        return np.asarray(trajectories.masses, dtype=float)
    reference = trajectories.meta.get("reference_masses")
    names = particle_names(trajectories)
    if isinstance(reference, dict) and all(name in reference for name in names):
        return np.tile([float(reference[name]) for name in names], (len(trajectories), 1))
    return None


def to_data_mass_units(masses: LearnedMasses | None, trajectories) -> dict | None:
    """The substitution that writes a law in learned masses (reference = 1) in the data's own mass
    units (used only to judge against a stored law); {} when the masses were not learned, None
    when the data carry no masses to convert with."""
    if masses is None:
        return {}
    true = true_masses(trajectories)
    if true is None:
        return None
    scale = true[masses.reference]
    return {sym_m1: sym_m1 / scale, sym_m2: sym_m2 / scale}


def particle_table(learned: np.ndarray, reference: tuple[int, int], trajectories, polished) -> dict:
    """`particles` of equations.json: every particle's learned mass (in units of the `reference`
    particle's) and, where the data say, the true one in the same unit and their ratio."""
    true = true_masses(trajectories)
    names = particle_names(trajectories)
    table = _rows(learned, true, reference, names, "mass")
    for row in table if true is not None else []:
        row["ratio"] = row["learned_mass"] / row["true_mass"]
    summary = {"reference": {"system": reference[0], "name": names[reference[1]]},
               "unit": "the reference particle's mass", "table": table,
               "polished": None if polished is None else {
                   "accepted": polished.accepted, "held_out_error_before": polished.held_out_error_before,
                   "held_out_error_after": polished.held_out_error_after}}
    if true is not None:
        deviation = np.abs(np.array([row["ratio"] for row in table]) - 1)
        summary.update(median_relative_error=float(np.median(deviation)), max_relative_error=float(deviation.max()))
    return summary


def _rows(learned: np.ndarray, true: np.ndarray | None, reference: tuple[int, int], names: list[str],
          quantity: str) -> list[dict]:
    """One row per particle of every system: `learned_<quantity>` and, where known, `true_<quantity>`
    in units of the reference particle's."""
    rows = []
    for s in range(learned.shape[0]):
        for i, name in enumerate(names):
            row = {"system": s, "name": name, f"learned_{quantity}": float(learned[s, i])}
            if true is not None:
                row[f"true_{quantity}"] = float(true[s, i] / true[reference])
            rows.append(row)
    return rows


def charge_table(learned: np.ndarray, reference: tuple[int, int], trajectories) -> dict:
    """`particles.charges` of equations.json: every particle's learned charge in units of the
    `reference` particle's (+1), and where the data hold charges (kept only to judge), the true
    one in the same unit (sign included) and their difference."""
    names = particle_names(trajectories)
    true = None if trajectories.charges is None else np.asarray(trajectories.charges, dtype=float)
    if true is not None and true[reference] == 0:
        true = None  # a neutral reference particle gives the true charges no unit to compare in
    table = _rows(learned, true, reference, names, "charge")
    for row in table if true is not None else []:
        row["error"] = row["learned_charge"] - row["true_charge"]
    summary = {"reference": {"system": reference[0], "name": names[reference[1]]},
               "unit": "the reference particle's charge (+1)", "table": table}
    if true is not None:
        error = np.abs([row["error"] for row in table])
        signs = [np.sign(row["learned_charge"]) == np.sign(row["true_charge"]) for row in table if row["true_charge"]]
        summary.update(median_absolute_error=float(np.median(error)), max_absolute_error=float(error.max()),
                       signs_right=float(np.mean(signs)) if signs else None)
    return summary


def to_data_charge_units(reference: tuple[int, int], trajectories) -> dict | None:
    """The substitution that writes a law in learned charges (reference = +1) in the data's own
    charges (only to judge against a stored law); None when the data hold no charges to convert with."""
    if trajectories.charges is None or np.asarray(trajectories.charges)[reference] == 0:
        return None
    scale = float(np.asarray(trajectories.charges)[reference])
    return {sym_q1: sym_q1 / scale, sym_q2: sym_q2 / scale}
