"""The message variables: the one list of names a pair law is written in (docs/design.md §2).

For the message from sender j to receiver i: `dx, dy, dz` are the components of Δ = x_i - x_j,
`dvx, dvy, dvz` those of the relative velocity v_i - v_j, `r` = |Δ| + ε (ε: the softening the
data were made with), `m1, q1` the receiver's mass and charge, `m2, q2` the sender's.
"""
from __future__ import annotations

import sympy

from eqlearn.vocabulary.names import AXES

#: The built-in simulator adds this to every pair distance (not a clip), as the reference data
#: sets do, so close encounters stay finite; real data carry none.
SOFTENING = 0.01
DELTA = sympy.symbols(" ".join(f"d{a}" for a in AXES))
RELATIVE_VELOCITY = sympy.symbols(" ".join(f"dv{a}" for a in AXES))
r, m1, m2, q1, q2 = sympy.symbols("r m1 m2 q1 q2")
#: Every variable a message expression may use, in a fixed order (lambdify's argument order).
MESSAGE_VARIABLES = (*DELTA, *RELATIVE_VELOCITY, r, m1, m2, q1, q2)
NAMESPACE = {str(s): s for s in MESSAGE_VARIABLES}
#: The same pair seen from the other particle: Δ → -Δ, v → -v, 1 ↔ 2.
REVERSE_PAIR = {**{d: -d for d in (*DELTA, *RELATIVE_VELOCITY)}, m1: m2, m2: m1, q1: q2, q2: q1}


def distance(softening: float) -> sympy.Expr:
    """|Δ| written in the message variables: r - ε."""
    return r - sympy.Float(softening) if softening else r
