"""Named model recipes: how a discovery run builds and trains its GNN, chosen by name.

A recipe sees only what the data carry (`DataSpec`: dimension, particles, whether there are
velocities and charges, the softening of r), never the law that made them: the law is what a run
is looking for. `--recipe NAME` picks one; `DEFAULT_RECIPE` is what a run uses when told nothing.
Like torchdiffeq's solvers, recipes live in one registry (`RECIPES`) behind one checked lookup.
A *portfolio* recipe (`members`) trains each member recipe on the same data and split and reports
the law chosen by held-out error and size alone (`eqlearn.discovery.portfolio.choose`), so a law outside
one model's family can still come out of the default. The table is plain data (torch-free), so
`eqlearn discover -h` lists it without loading the models.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from eqlearn.errors import UserInputError
from eqlearn.gnn.catalog import CENTRAL_EDGE_UNITS, POLYNOMIAL_EDGE_UNITS, SEED_EDGE_UNITS, SWITCHED_EDGE_UNITS
from eqlearn.vocabulary.names import AXES


@dataclass(frozen=True)
class DataSpec:
    """What a data set carries, the only facts a recipe may use."""

    n: int
    dim: int
    velocities: bool = False
    charges: bool = False
    charge_values: bool = True  # False: the particles carry charges whose values are learned (`--learn-charges`)
    softening: float = 0.0
    masses: bool = True  # whether the data carry every particle's mass
    states: int = 0  # stored states in all (systems × time points); 0: not known
    times: bool = False  # whether the data carry the times of their states
    acceleration_error: float | None = None  # estimated relative error of accelerations estimated from positions


@dataclass(frozen=True)
class Recipe:
    """Edge inputs, edge model and training budget of a discovery run.

    `eql_form` is "central" (the message is Σ g(scalars)·vector, `CentralEQLEdgeModel`), "screened"
    (the same, with exponentials of r among its units) or "free"
    (any EQL of all inputs, `EQLEdgeModel`); `units` None means the edge model's own default.
    `members` names the recipes a portfolio trains; a portfolio's own fields are those of its
    first member, the model built where one model must stand for it (e.g. `eqlearn compare`).
    `fallbacks` names recipes a portfolio trains only when no member's law explains the held-out
    data (`eqlearn.discovery.portfolio.RETRY_ABOVE`): families too rare to pay for on every run.
    """

    name: str
    summary: str
    features: Callable[[DataSpec], list[str]]
    eql_form: str = "central"
    units: object = None
    depth: int = 2
    epochs: int = 30
    lr: float = 1e-2
    message_l1: float = 1e-2
    weight_penalty: float = 2e-4
    penalty: str = "l1"
    node_model: str = "newtonian"
    messages: int = 100
    prune_thresholds: tuple[float, ...] = field(default=(0.01, 0.03, 0.05))
    members: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()


def _axes(prefix: str, spec: DataSpec) -> list[str]:
    return [f"{prefix}{a}" for a in AXES[:spec.dim]]


def everything_the_data_carry(spec: DataSpec) -> list[str]:
    """The unit vector, the relative velocity (if any), r and log r, the masses and their logs,
    the charges (if any): the network learns which of them the law uses. Learned charges enter
    only as the product q1 q2: a charge the data do not give is defined by the law, as the
    factor of each particle in the part of the pair force that scales as q1 q2 (other uses, q1 + q2
    or q1³, would let the learned values be any per-particle code and the law any function of it)."""
    names = _axes("u", spec)
    if spec.velocities:
        names += _axes("dv", spec)
    names += ["r", "log_r", "log_m1", "log_m2"]
    if spec.charges:
        names += ["q1", "q2"] if spec.charge_values else ["q1q2"]
    return names


def polynomial_features(spec: DataSpec) -> list[str]:
    return [*_axes("u", spec), "r", "1/r", "m1", "m2"]


def power_law_features(spec: DataSpec) -> list[str]:
    return [*_axes("u", spec), "log_r", "log_m1", "log_m2"]


def seed_features(spec: DataSpec) -> list[str]:
    """The seed report's inputs for spring and 1/r (its 1/r² runs used 1/r³ instead of r, 1/r)."""
    return [*_axes("d", spec), "r", "1/r", "m1", "m2"]


CENTRAL = Recipe("central", "every input the data carry; message = Σ EQL(scalars) × (u, dv): sums of power "
                            "laws, each optionally times q1 q2", everything_the_data_carry, "central",
                 CENTRAL_EDGE_UNITS, epochs=30)
RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in [
        replace(CENTRAL, name="auto", summary="the default: central and screened, each trained on the same data; the "
                                              "law with the smaller held-out error is reported (the shorter of "
                                              "equals); when neither explains the held-out data, a second start "
                                              "of each and switched", members=("central", "screened"),
                fallbacks=("switched",)),
        CENTRAL,
        replace(CENTRAL, name="screened", eql_form="screened",
                summary="as central, but the exp units read r too: monomials times e^(kr) (Yukawa, Morse-like "
                        "laws); plain power laws may come out with spurious e^(kr) factors"),
        replace(CENTRAL, name="switched", eql_form="switched", units=SWITCHED_EDGE_UNITS,
                summary="as central, with steps σ(a r + b) that multiply the power laws: laws that switch on or "
                        "off at a distance (cutoffs, contact forces)"),
        Recipe("polynomial", "u, r, 1/r, m1, m2 into a free two-layer EQL (polynomial units)",
               polynomial_features, "free", POLYNOMIAL_EDGE_UNITS, epochs=20),
        Recipe("power-law", "u and logarithms of r, m1, m2 into a free EQL with power-law units",
               power_law_features, "free", None, epochs=60),
        Recipe("seed", "the seed report's set-up: dx, dy, r, 1/r, m1, m2; 8 constant, 16 identity, 8 product "
                       "units; 100 messages with an L1 penalty behind an MLP node model",
               seed_features, "free", SEED_EDGE_UNITS, epochs=200, lr=1e-3, message_l1=1.0, weight_penalty=0.0,
               node_model="mlp", prune_thresholds=()),
    ]
}
DEFAULT_RECIPE = "auto"


def candidate_recipes(name: str) -> tuple[str, ...]:
    """The recipes a run with recipe `name` trains: a portfolio's members, else `name` itself."""
    return get_recipe(name).members or (name,)


def fallback_recipes(name: str) -> tuple[str, ...]:
    """The recipes a portfolio `name` adds when none of its members' laws explains the data."""
    return get_recipe(name).fallbacks


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`, with an error that lists the valid names."""
    if name not in RECIPES:
        raise UserInputError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]

