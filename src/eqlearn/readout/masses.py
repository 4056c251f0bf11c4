"""Learned masses as a run reports them: per particle, in the reference particle's unit, beside
the true ones where the data (or their metadata, e.g. JPL's masses) say."""
from __future__ import annotations

import numpy as np

from eqlearn.gnn.particles import LearnedMasses
from eqlearn.readout.variables import m1 as sym_m1
from eqlearn.readout.variables import m2 as sym_m2


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
    table = []
    for s in range(learned.shape[0]):
        for i, name in enumerate(names):
            row = {"system": s, "name": name, "learned_mass": float(learned[s, i])}
            if true is not None:
                row["true_mass"] = float(true[s, i] / true[reference])
                row["ratio"] = row["learned_mass"] / row["true_mass"]
            table.append(row)
    summary = {"reference": {"system": reference[0], "name": names[reference[1]]},
               "unit": "the reference particle's mass", "table": table,
               "polished": None if polished is None else {
                   "accepted": polished.accepted, "held_out_error_before": polished.held_out_error_before,
                   "held_out_error_after": polished.held_out_error_after}}
    if true is not None:
        deviation = np.abs(np.array([row["ratio"] for row in table]) - 1)
        summary.update(median_relative_error=float(np.median(deviation)), max_relative_error=float(deviation.max()))
    return summary
