"""The pair variables' names as plain strings (docs/design.md §2): no sympy, so what must load
instantly (the command line, the recipes) can speak of axes and variables. `symbols` builds the
sympy symbols from these names."""
from __future__ import annotations

AXES = ("x", "y", "z")


def variable_names(dim: int, velocities: bool = False) -> list[str]:
    """The message variables of a d-dimensional law (§2), in the order equations.json lists them."""
    names = [f"d{a}" for a in AXES[:dim]]
    if velocities:
        names += [f"dv{a}" for a in AXES[:dim]]
    return names + ["r", "m1", "m2", "q1", "q2"]


def unit_vector_names(dim: int) -> list[str]:
    """The components of the unit vector u = Δ/|Δ| a law is reported in (ux, uy[, uz])."""
    return [f"u{a}" for a in AXES[:dim]]


def force_component_names(dim: int) -> list[str]:
    """What message k is where the messages are forces: the force along axis k (F_x, F_y[, F_z])."""
    return [f"F_{a}" for a in AXES[:dim]]
