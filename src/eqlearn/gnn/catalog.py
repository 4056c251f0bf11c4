"""What the GNN part can build, as names and numbers only: edge-unit counts, the MLP baseline's
variants, the net-force losses and the `--graph` grammar.

Torch-free on purpose: the command line offers these names and checks a user's choice before
anything heavy is loaded. The modules that build the models import them from here, so each name
is written once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from eqlearn.errors import UserInputError

#: The seed's hidden layer: 8 constant, 16 identity, 8 product units (docs/design.md §5).
SEED_EDGE_UNITS: dict[str, int] = {"constant": 8, "identity": 16, "product": 8}
#: Small layers train faster and leave fewer spurious terms.
POLYNOMIAL_EDGE_UNITS: dict[str, int] = {"constant": 2, "identity": 4, "product": 4}
#: Power laws: first-layer `exp` units read only logarithms, so each is a monomial m1^a m2^b r^c;
#: the second layer multiplies a monomial by a unit-vector component (u_x m1 m2 / r^2 is one product).
#: The identity and product counts are per axis: fewer cannot carry d independent force components.
POWER_LAW_EDGE_UNITS: list[dict[str, int]] = [{"identity": 1, "exp": 2}, {"identity": 1, "product": 1}]
#: Inputs that are components of the unit vector (one per axis).
UNIT_VECTOR_FEATURES = ("ux", "uy", "uz")
#: The central recipe's scalar network: layer 1 forms monomials m1^a m2^b r^c (`exp` units that
#: read only log r, log m1, log m2) beside the plain scalars and their products (q1 q2); layer 2
#: adds and multiplies them, so a sum of power laws, each optionally times q1 q2, is one network.
#: With `exponentials` (the `screened` recipe) the `exp` units read r too: m1^a m2^b r^c e^(k r).
CENTRAL_EDGE_UNITS: list[dict[str, int]] = [{"constant": 1, "identity": 2, "product": 2, "exp": 4},
                                            {"identity": 2, "product": 2}]
#: The `switched` recipe's units: the central ones and two sigmoid units that read only r and a
#: constant, σ(a r + b), a smooth step at r = -b/a; layer 2 multiplies a step by a power law, so a
#: law that switches on or off at some distance (a cutoff, a contact force) is one network.
SWITCHED_EDGE_UNITS: list[dict[str, int]] = [{**CENTRAL_EDGE_UNITS[0], "sigmoid": 2}, dict(CENTRAL_EDGE_UNITS[1])]


@dataclass(frozen=True)
class MLPVariant:
    """How the baseline makes a black-box message readable (Cranmer et al. 2020, docs/design.md §5)."""

    message_l1: bool = False  # L1 penalty on the messages
    bottleneck: bool = False  # only d messages
    variational: bool = False  # sampled messages with a KL penalty


MLP_VARIANTS: dict[str, MLPVariant] = {
    "standard": MLPVariant(),
    "l1": MLPVariant(message_l1=True),
    "bottleneck": MLPVariant(bottleneck=True),
    "kl": MLPVariant(variational=True),
}


def mlp_variant(name: str) -> MLPVariant:
    if name not in MLP_VARIANTS:
        raise UserInputError(f"unknown MLP variant {name!r}; choose {', '.join(MLP_VARIANTS)}")
    return MLP_VARIANTS[name]


#: The net-force errors a training run can use (`gnn.training.FORCE_LOSSES` holds their functions).
FORCE_LOSS_NAMES = ("relative", "huber", "log")


def check_force_loss(name: str) -> str:
    """`name` if it names a net-force error, with an error that lists the valid names."""
    if name not in FORCE_LOSS_NAMES:
        raise UserInputError(f"unknown loss {name!r}; choose {', '.join(FORCE_LOSS_NAMES)}")
    return name


#: Which pairs exchange messages (`--graph`): every pair, or neighbours rebuilt from each state.
GRAPH_KINDS = ("complete", "radius", "knn")


def read_graph(text: str) -> tuple[str, float | None]:
    """(kind, size) of "complete", "radius R" or "knn K" (the `--graph` setting); size is None for
    the complete graph. `gnn.neighbours.parse_graph` builds the graph this describes."""
    kind, *rest = str(text).replace("=", " ").split() or [""]
    if kind not in GRAPH_KINDS or len(rest) != (0 if kind == "complete" else 1):
        raise UserInputError(f"graph {text!r}: write complete, 'radius R' or 'knn K'")
    if kind == "complete":
        return kind, None
    try:
        size = float(rest[0])
    except ValueError:
        raise UserInputError(f"graph {text!r}: {rest[0]!r} is not a number") from None
    if not (math.isfinite(size) and size > 0) or (kind == "knn" and size != int(size)):
        raise UserInputError(f"graph {text!r}: the {'radius' if kind == 'radius' else 'K'} must be a positive "
                             f"{'number' if kind == 'radius' else 'whole number'}")
    return kind, size
