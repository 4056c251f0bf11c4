"""What a run found, as `equations.json` holds it (docs/design.md §3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.data import Truth
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.physics.scales import DataUnits
from eqlearn.version import __version__
from eqlearn.vocabulary.symbols import variable_names

EQUATIONS_FORMAT = "eqlearn.equations/2"


@dataclass
class Discovery:
    """What a run found: the top messages, their canonical form, the truth-free verdict and, where
    the data carry their law, the verifier's verdict."""

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

    def equations(self) -> dict:
        c = self.config
        return {
            "format": EQUATIONS_FORMAT, "recipe": c.recipe, "data": c.data,
            "truth": self.truth.to_dict() if self.truth else None,
            "law": self.truth.name if self.truth else None, "potential": self.truth.potential if self.truth else None,
            "n": c.n, "dim": c.dim, "seed": c.seed, "softening": c.softening,
            "units": self.units.to_dict(), "graph": c.graph, "edge_model": c.edge_model,
            "node_model": c.node_model, "variables": variable_names(c.dim, FeatureBuilder.reads_velocities(c.features)),
            "messages": self.messages, "canonical": self.canonical, "nonzero_messages": self.nonzero_messages,
            "truth_free": self.truth_free, "verification": self.verification,
            "readout_verification": self.readout_verification, "test_loss": self.test_loss,
            "restarts": self.restarts, "particles": self.particles, "derivatives": self.derivatives,
            "seconds": self.seconds, "eqlearn_version": __version__,
        }
