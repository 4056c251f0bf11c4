"""Training ends once the law read from the network is exact on held-out data.

An exact law's held-out force error sits at the float rounding of the data (about 2e-8 for
accelerations stored in float32); the best inexact law of the benchmarks is four orders of magnitude
above it (1.3e-4). Below `EXACT_LAW_ERROR` no further training, and no other candidate model, can
give a law that explains the held-out data better, so a run stops there. Only held-out errors
decide, never the truth: noisy or observed data never reach the bound and train their full schedule.

The check reads the law from a copy of the network pruned at the schedule's last threshold, as the
full schedule would prune it (a pruned network reads out in a fraction of a second; a dense one
takes seconds; the refit recomputes the law's numbers), and only where the network fits the
held-out data (`CHECK_BELOW`), which costs one forward pass. The reported network stays the one
trained.
"""
from __future__ import annotations

import copy
from typing import Callable

from eqlearn.discovery.verdict import NETWORK_FITS
from eqlearn.eql.sparsity import prune
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.training import GraphSet, predict
from eqlearn.readout.law import PairLaw, relative_force_error

#: A held-out law error at or below this is float rounding: the law is exact on the data (50x the
#: rounding of float32 accelerations, 100x below the best inexact law the benchmarks found).
EXACT_LAW_ERROR = 1e-6
#: The law is checked every this many epochs.
CHECK_EVERY = 5
#: Held-out graphs the check evaluates the law and the network on.
CHECK_GRAPHS = 2000
#: The law is read only where the network fits the held-out data (the truth-free verdict's bound):
#: a run stops with a network the verdict trusts. Under the sparsity penalty a network that holds the
#: law already may err by more (r2: 0.05 until the first pruning round); a looser bound stops such
#: runs sooner (r2 at epoch 10 instead of 35 with 0.2) but reports a network that has not fitted.
CHECK_BELOW = NETWORK_FITS


def is_exact(law_error: float | None) -> bool:
    """Whether a held-out law error is float rounding (`EXACT_LAW_ERROR`)."""
    return law_error is not None and law_error <= EXACT_LAW_ERROR


class ExactLawStop:
    """`stop(row)` for `eqlearn.eql.training.train`: every CHECK_EVERY epochs where the model fits
    the held-out graphs, prune a copy of it at `threshold` and read the copy's law
    (`read_law(copy)` gives the law per axis and whatever the read-out stage keeps). When the law's
    held-out error is exact, `found` keeps the read-out and training stops; the model itself stays
    as trained."""

    def __init__(self, model: ParticleGNN, threshold: float, held_out: GraphSet, softening: float,
                 read_law: Callable[[ParticleGNN], tuple[list, object]]):
        self.model, self.threshold, self.softening, self.read_law = model, threshold, softening, read_law
        self.held_out = held_out.spread(CHECK_GRAPHS)
        self.found = None
        self.checked: list[dict] = []  # epoch and held-out errors of every check

    def __call__(self, row: dict) -> bool:
        if row["epoch"] % CHECK_EVERY:
            return False
        check = {"epoch": row["epoch"], **self.check()}
        self.checked.append(check)
        return self.found is not None

    def check(self) -> dict:
        """The held-out errors of the network and of its pruned copy's law (None where the network
        does not fit the data); `found` is set where the law is exact."""
        pruned = copy.deepcopy(self.model).cpu()  # the read-out runs on the CPU
        graphs = self.held_out
        force = lambda accelerations: (accelerations.double() * graphs.masses.double()[..., None]).numpy()
        errors = {"network_force_error": relative_force_error(force(predict(pruned, graphs)), force(graphs.accelerations)),
                  "law_force_error": None}
        if errors["network_force_error"] > CHECK_BELOW:
            return errors
        prune(pruned, self.threshold)
        law, found = self.read_law(pruned)
        law_forces = PairLaw(law, pruned.edges, self.softening).net_forces(*graphs.inputs)
        errors["law_force_error"] = relative_force_error(law_forces, force(graphs.accelerations))
        if is_exact(errors["law_force_error"]):
            self.found = found
        return errors
