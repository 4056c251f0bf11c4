"""What a run found, as `equations.json` holds it (docs/design.md §3): the found law on top, named
by what it is, then how it was read, judged and checked.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import sympy

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.data import Truth
from eqlearn.errors import UserInputError
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.physics.scales import DataUnits
from eqlearn.symbolic import to_latex, to_string
from eqlearn.version import __version__
from eqlearn.vocabulary.names import force_component_names, unit_vector_names, variable_names

EQUATIONS_FORMAT = "eqlearn.equations/3"
#: Formats of earlier versions that readers (the verifier, `reported_law`) still accept: /2 had
#: no `found` object and the truth's name and potential at the top as well.
EARLIER_EQUATIONS_FORMATS = ("eqlearn.equations/2",)
#: What `canonical` is, stated in the file: it is not the law as found, but a normal form of it.
CANONICAL_NORMALISATION = (
    "the top messages mixed and scaled to undo any invertible linear map of them (Gauss-Jordan elimination with "
    "complete pivoting over their common terms): each row's pivot term, the largest by its RMS on held-out pairs, "
    "has coefficient 1, so a row's overall scale and sign are not the law's; rows are ordered by their pivot's "
    "axis, constants dropped. The law as found is under `found`")
#: Where the messages are forces: what they are (§1, the central model).
FORCE_QUANTITY = "the force on particle 1 (mass m1, charge q1) from particle 2 (m2, q2); u = Δ/|Δ|, Δ = x1 - x2"
MESSAGES_QUANTITY = ("the top messages (not forces: a learned node model or a wider message maps them to "
                     "accelerations; the canonical form undoes their mixing)")
#: A run directory is complete once this file exists: it is written last, and atomically.
EQUATIONS_FILE = "equations.json"


@dataclass
class Discovery:
    """What a run found: the law (`found`), the top messages it was read from, their canonical
    form, the truth-free verdict and, where the data carry their law, the verifier's verdict."""

    config: DiscoverConfig
    truth: Truth | None
    messages: list[dict]
    canonical: list[str]
    nonzero_messages: int
    truth_free: dict
    verification: dict | None
    readout_verification: dict | None  # the verifier on the read-out as printed from the weights, before any refit
    test_loss: float
    seconds: dict
    particles: dict | None = None  # learned masses (reference = 1), with the true ones where the data say
    derivatives: dict | None = None  # how the accelerations were estimated from positions, and how well
    units: DataUnits = field(default_factory=DataUnits)  # the run's length and time units, in the data's
    restarts: list[dict] | None = None  # every initialisation, where the run had several (eqlearn.discovery.portfolio)
    found: dict = field(default_factory=dict)  # the reported law by name (`found_law`)
    objective: dict | None = None  # what training compared with the data: accelerations or weak-form windows

    def equations(self) -> dict:
        c = self.config
        velocities = FeatureBuilder.reads_velocities(c.features)
        return {
            "format": EQUATIONS_FORMAT, "found": self.found, "recipe": c.recipe, "data": c.data,
            "truth": self.truth.to_dict() if self.truth else None,
            "n": c.n, "dim": c.dim, "seed": c.seed, "softening": c.softening,
            "units": self.units.to_dict(), "graph": c.graph, "edge_model": c.edge_model,
            "node_model": c.node_model, "variables": unit_vector_names(c.dim) + variable_names(c.dim, velocities),
            "messages": self.messages, "canonical": self.canonical,
            "canonical_normalisation": CANONICAL_NORMALISATION, "nonzero_messages": self.nonzero_messages,
            "truth_free": self.truth_free, "verification": self.verification,
            "readout_verification": self.readout_verification, "test_loss": self.test_loss,
            "restarts": self.restarts, "particles": self.particles, "derivatives": self.derivatives,
            "objective": self.objective,
            "seconds": self.seconds, "eqlearn_version": __version__,
        }

    @classmethod
    def from_directory(cls, directory: str | Path) -> "Discovery":
        """The discovery a complete run directory holds (its equations.json and config.json): what
        a resumed run reads instead of training a finished candidate again."""
        directory = Path(directory)
        try:
            equations = json.loads((directory / EQUATIONS_FILE).read_text())
            config = DiscoverConfig.from_json((directory / "config.json").read_text())
            truth = Truth(**equations["truth"]) if equations["truth"] else None
            return cls(config, truth, equations["messages"], equations["canonical"], equations["nonzero_messages"],
                       equations["truth_free"], equations["verification"], equations["readout_verification"],
                       equations["test_loss"], equations["seconds"], equations["particles"], equations["derivatives"],
                       DataUnits(**equations["units"]), equations["restarts"], equations.get("found", {}))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserInputError(f"{directory} holds no complete run: {error}") from None


def message_names(indices: list[int], config: DiscoverConfig) -> list[str]:
    """What each top message (by its feature index) is: where the messages are forces, message k
    is the force along axis k (F_x, F_y, F_z); otherwise `message_1`, ... by rank."""
    if config.messages_are_forces:
        return [force_component_names(config.dim)[i] for i in indices]
    return [f"message_{rank}" for rank in range(1, len(indices) + 1)]


def message_records(indices: list[int], stds, read: list[sympy.Expr], law: list[sympy.Expr],
                    law_forms: list[sympy.Expr], refit_r2: list[float], config: DiscoverConfig) -> list[dict]:
    """`messages` of equations.json, in the top (std) order: each message's name, feature index
    and std, as read from the weights (`read`), and the law it became (`law`, refitted where
    `refit_r2` has a value; `law_forms`: the same in unit-vector form)."""
    records = []
    for k, (name, index, expression) in enumerate(zip(message_names(indices, config), indices, read)):
        record = {"name": name, "index": index, "std": round(float(stds[index]), 6), "expression": to_string(expression),
                  "latex": to_latex(expression), "unit_vector_form": to_string(law_forms[k])}
        if k < len(refit_r2):
            record.update(refitted=to_string(law[k]), refitted_latex=to_latex(law[k]), refit_r2=round(refit_r2[k], 9))
        records.append(record)
    return records


def found_law(messages: list[dict], law_forms: list[sympy.Expr], truth_free: dict, config: DiscoverConfig) -> dict:
    """`found` of equations.json: the reported law per axis (F_x, F_y, ...) in unit-vector form
    and LaTeX, the variables it uses, its size and its held-out error beside the network's.
    `messages` and `law_forms` are in the top order; the law is listed by name, axes in order."""
    forms = {m["name"]: form for m, form in zip(messages, law_forms)}
    ordered = sorted(forms) if config.messages_are_forces else list(forms)
    used = set().union(*(forms[name].free_symbols for name in ordered))
    every = unit_vector_names(config.dim) + variable_names(config.dim, velocities=True)
    return {
        "quantity": FORCE_QUANTITY if config.messages_are_forces else MESSAGES_QUANTITY,
        "law": {name: to_string(forms[name]) for name in ordered},
        "latex": {name: to_latex(forms[name]) for name in ordered},
        "variables": [name for name in every if sympy.Symbol(name) in used],
        "size": truth_free.get("law_size"),
        "held_out_error": truth_free.get("law_force_error"),
        "network_held_out_error": truth_free.get("network_force_error"),
        "explains_data": truth_free.get("explains_data"),
        # the law counts as found only where the network fitted the data (not where it is noise) and the
        # law explains them as well as the network
        "trusted": bool(truth_free.get("network_fits_data", True) and truth_free.get("explains_data")),
    }


def reported_law(equations: dict) -> list[str]:
    """The reported law of an equations.json (this format or an earlier one) as text, per axis
    where the messages are forces."""
    if equations.get("found"):
        return list(equations["found"]["law"].values())
    return [m.get("unit_vector_form", m["expression"]) for m in equations["messages"]]

def is_complete(directory: str | Path) -> bool:
    """Whether `directory` holds a finished run: equations.json is the last file a run writes."""
    return (Path(directory) / EQUATIONS_FILE).is_file()
