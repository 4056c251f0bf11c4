"""What training a particle GNN means: graph tensors, mini-batches and the loss.

The generic loop in `eqlearn.eql.training` calls `GraphObjective` once per batch; the loss is an error of
the net force on each particle (`FORCE_LOSSES`) plus, scaled by the phase's regularization, an L1
penalty on the messages and a sparsity penalty on the EQL weights.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from eqlearn.eql.sparsity import weight_penalty
from eqlearn.errors import UserInputError
from eqlearn.gnn.catalog import FORCE_LOSS_NAMES, check_force_loss
from eqlearn.gnn.edge_models import PenalisedEdgeModel
from eqlearn.gnn.features import PairContext
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.particles import MASS_DRIFT_PENALTY

HUBER_DELTA = 10.0
#: A message feature whose std is below this fraction of the largest one counts as switched off.
LIVE_MESSAGE_FRACTION = 1e-2


@dataclass
class GraphSet:
    """Many independent particle systems at one instant each: the GNN's training pairs."""

    positions: torch.Tensor  # [N, n, d]
    masses: torch.Tensor  # [N, n]
    charges: torch.Tensor  # [N, n] (zeros when the data carry none)
    accelerations: torch.Tensor  # [N, n, d]
    velocities: torch.Tensor | None = None  # [N, n, d] when the data carry them
    system: torch.Tensor | None = None  # [N] long: which system each graph is a state of (learned masses)
    box: torch.Tensor | None = None  # [N, d]: each graph's periodic box (None: open space)

    @classmethod
    def from_trajectories(cls, trajectories, stride: int = 1) -> "GraphSet":
        """Every `stride`-th stored step of every simulation becomes one graph. Data without
        masses get masses of 1 here: a run learns them (`eqlearn.gnn.particles`)."""
        systems, steps = np.asarray(trajectories.positions)[:, ::stride].shape[:2]
        flat = lambda a: torch.as_tensor(np.asarray(a)[:, ::stride].reshape(-1, *a.shape[2:]), dtype=torch.float32)
        per_system = lambda a: torch.as_tensor(np.repeat(np.asarray(a), steps, axis=0), dtype=torch.float32)
        unknown = np.ones(trajectories.positions.shape[:1] + trajectories.positions.shape[2:3])
        masses = trajectories.masses if trajectories.masses is not None else unknown
        charges = trajectories.charges if trajectories.charges is not None else np.zeros_like(masses)
        velocities = None if trajectories.velocities is None else flat(trajectories.velocities)
        box = None if trajectories.box is None else flat(np.ascontiguousarray(trajectories.state_boxes))
        graphs = cls(flat(trajectories.positions), per_system(masses), per_system(charges),
                     flat(trajectories.accelerations), velocities, torch.arange(systems).repeat_interleave(steps), box)
        graphs.check_finite()
        return graphs

    def __len__(self) -> int:
        return self.positions.shape[0]

    @property
    def states(self) -> "GraphSet":
        """The states the model is evaluated on: each graph is one (`gnn.windows.WindowSet` holds several per sample)."""
        return self

    #: States per sample, and the targets' estimated noise (None: not known; see `gnn.windows.WindowSet`).
    points = 1
    target_noise = None

    def average(self, values):
        """Per-state values as per-sample ones: each graph is its own sample."""
        return values

    def resolution_error(self, values: np.ndarray) -> np.ndarray:
        """A single state has no quadrature over time to be unresolved (`WindowSet.resolution_error`)."""
        return np.zeros(values.shape)

    @property
    def inputs(self) -> tuple:
        """What the model reads: positions, masses, charges, velocities, the periodic box."""
        return self.positions, self.masses, self.charges, self.velocities, self.box

    def edges_of(self, graph) -> EdgeList:
        """The edges of `graph` (an `EdgeList` or a `NeighbourGraph`) on these states, in their boxes."""
        return graph.for_positions(self.positions, self.box)

    def float64_pairs(self, graph, softening: float, masses: torch.Tensor | None = None) -> tuple[EdgeList, PairContext]:
        """(edges, their pair quantities in float64) of `graph` on these states, as a law is evaluated
        on them; `masses` [N, n] in place of the graphs' own (learned ones, differentiable)."""
        edges = self.edges_of(graph)
        double = lambda a: None if a is None else a.double()
        context = edges.pair_context(self.positions.double(), self.masses.double() if masses is None else masses,
                                     self.charges.double(), double(self.velocities), softening, double(self.box))
        return edges, context

    def subset(self, index) -> "GraphSet":
        pick = lambda a: None if a is None else a[index]
        return GraphSet(self.positions[index], self.masses[index], self.charges[index], self.accelerations[index],
                        pick(self.velocities), pick(self.system), pick(self.box))

    def spread(self, count: int) -> "GraphSet":
        """At most `count` graphs evenly spaced through the set: every system and every stretch of
        time has its share (graphs are stored system by system, so a leading slice would not)."""
        if len(self) <= count:
            return self
        return self.subset(torch.linspace(0, len(self) - 1, count).round().long())

    def to(self, device) -> "GraphSet":
        """The same graphs on `device`."""
        move = lambda a: None if a is None else a.to(device)
        return GraphSet(*(move(getattr(self, name)) for name in
                          ("positions", "masses", "charges", "accelerations", "velocities", "system", "box")))

    def with_masses(self, masses: torch.Tensor) -> "GraphSet":
        """The same graphs with other masses [N, n] (learned ones, possibly still training)."""
        return replace(self, masses=masses)

    def with_charges(self, charges: torch.Tensor) -> "GraphSet":
        """The same graphs with other charges [N, n] (learned ones)."""
        return replace(self, charges=charges)

    def check_finite(self) -> None:
        for name in ("positions", "masses", "charges", "accelerations", "velocities", "box"):
            value = getattr(self, name)
            if value is not None and not torch.isfinite(value).all():
                raise UserInputError(f"the data set has NaN or infinite {name}")

    def batches(self, batch_size: int, generator: torch.Generator) -> list["GraphSet"]:
        order = torch.randperm(len(self), generator=generator).to(self.positions.device)
        return [self.subset(order[i:i + batch_size]) for i in range(0, len(self), batch_size)]


class GraphObjective:
    """Force error + regularization * (message_l1 * mean |message| + weight_penalty * EQL sparsity).

    The error compares m_i * a_i, the net force: weighting by mass keeps light particles' huge
    accelerations from dominating. The message penalty is the per-edge sum of |message| averaged
    over edges, independent of batch size and n.
    """

    def __init__(self, model: ParticleGNN, message_l1: float, weight_penalty: float, penalty_kind: str = "l1",
                 loss: str = "relative", learned_masses=None, learned_charges=None):
        self.model, self.message_l1, self.weight_penalty, self.penalty_kind = model, message_l1, weight_penalty, penalty_kind
        self.force_error = force_loss(loss)
        self.learned_masses = learned_masses  # a LearnedMasses module: masses trained with the law
        self.learned_charges = learned_charges  # a LearnedCharges module: charges trained with the law
        if learned_masses is not None and loss == "relative":
            self.force_error = log_force_error

    def __call__(self, batch: GraphSet, regularization: float):
        if self.learned_masses is not None:
            batch = batch.with_masses(self.learned_masses(batch.system))
        if self.learned_charges is not None:
            batch = batch.with_charges(self.learned_charges(batch.system))
        predicted, messages = self.model(*batch.inputs)
        loss = self.force_error(batch.average(predicted), batch)
        message_l1 = messages.abs().sum(-1).mean()
        total = loss
        if self.learned_masses is not None:
            total = total + MASS_DRIFT_PENALTY * self.learned_masses.drift()
        if regularization and self.message_l1:
            total = total + regularization * self.message_l1 * message_l1
        if regularization and self.weight_penalty:
            total = total + regularization * self.weight_penalty * weight_penalty(self.model.edge_model, self.penalty_kind)
        metrics = {"loss": loss.item(), "message_l1": message_l1.item(), "live_messages": live_messages(messages)}
        own_penalty = self.model.edge_model.message_penalty if isinstance(self.model.edge_model, PenalisedEdgeModel) else None
        if own_penalty is not None:
            total = total + regularization * own_penalty
            metrics["message_penalty"] = own_penalty.item()
        return total, metrics


def live_messages(messages: torch.Tensor) -> int:
    """How many message features vary across edges (std above LIVE_MESSAGE_FRACTION of the largest)."""
    spread = messages.detach().reshape(-1, messages.shape[-1]).std(dim=0)
    return int((spread > LIVE_MESSAGE_FRACTION * spread.max()).sum())


def _net_forces(predicted: torch.Tensor, batch: GraphSet) -> tuple[torch.Tensor, torch.Tensor]:
    masses = batch.masses.unsqueeze(-1)
    return predicted * masses, batch.accelerations * masses


def huber_force_error(predicted: torch.Tensor, batch: GraphSet) -> torch.Tensor:
    """Huber (delta = 10) of the net-force error: quadratic for ordinary errors, linear for the rare
    close encounters of 1/r laws."""
    force, target = _net_forces(predicted, batch)
    return torch.nn.functional.huber_loss(force, target, delta=HUBER_DELTA)


def relative_force_error(predicted: torch.Tensor, batch: GraphSet) -> torch.Tensor:
    """|F_pred - F|^2 / (|F|^2 + f^2) per particle, averaged; f is the batch's median |F|.

    Power laws span orders of magnitude (a close pair of a 1/r^2 law pulls 10^4 times harder than
    a typical one): an absolute error is then a fit of a few close encounters, and training
    settles on sums of monomials with wrong exponents. Measured relative to the force itself,
    every particle counts alike and the exact power law is the clear optimum; the floor f keeps
    particles whose forces nearly cancel from dominating.
    """
    return relative_force_error_per_graph(predicted, batch).mean()  # every graph has the same n


def relative_force_error_per_graph(predicted: torch.Tensor, batch: GraphSet) -> torch.Tensor:
    """`relative_force_error` of each graph [G] (the floor f is still the whole batch's median |F|).

    Where the targets carry a known noise (weak-form windows of noisy positions), each particle's
    error is measured relative to the *predicted* force (held fixed in the gradient) plus the
    target's noise variance, not to the target: a noisy target's own size is correlated with its
    noise, and dividing by it favours the targets whose noise happens to shrink them, pulling the
    law towards weaker forces. The floor stays the targets' median size."""
    force, target = _net_forces(predicted, batch)
    size = target.norm(dim=-1)
    floor = size.median().detach()
    if batch.target_noise is None:
        return (((force - target) ** 2).sum(-1) / (size**2 + floor**2)).mean(-1)
    noise = batch.target_noise.to(force.dtype)[:, None] * batch.masses  # [G, n]: std of each coordinate
    scale = force.detach().norm(dim=-1) ** 2 + floor**2 + force.shape[-1] * noise**2
    return (((force - target) ** 2).sum(-1) / scale).mean(-1)


def log_force_error(predicted: torch.Tensor, batch: GraphSet) -> torch.Tensor:
    """(log |F_pred| - log |F|)² + |F_pred/|F_pred| - F/|F||² per particle, averaged: magnitude and
    direction apart. Near the fit it is the relative error; far from it, it grows with the log of the
    mismatch, not its square.

    For learned masses. They can span many decades (a moon and its sun: 10⁻⁸), and a first, random
    law then misses the lightest bodies' forces by factors of 10⁶: a relative error of 10¹² drowns
    everything else, and one bounded by 1 leaves no gradient. In the log the mismatch is linear in
    a power law's exponents. The log also stops a system from hiding by shrinking its masses, which
    would only make the mismatch grow. Both sizes carry a floor of 10⁻³ of the graph's median |F|,
    so forces that nearly cancel cannot dominate.
    """
    force, target = _net_forces(predicted, batch)
    size, predicted_size = target.norm(dim=-1), force.norm(dim=-1)
    floor = 1e-3 * size.median(dim=-1, keepdim=True).values.detach()
    magnitude = (torch.log(predicted_size + floor) - torch.log(size + floor)) ** 2
    direction = ((force / (predicted_size + floor).unsqueeze(-1) - target / (size + floor).unsqueeze(-1)) ** 2).sum(-1)
    return (magnitude + direction).mean()


#: Net-force errors a training run can use (DiscoverConfig.loss), named in `catalog.FORCE_LOSS_NAMES`.
FORCE_LOSSES = dict(zip(FORCE_LOSS_NAMES, (relative_force_error, huber_force_error, log_force_error), strict=True))


def force_loss(name: str):
    """The net-force error called `name`, with an error that lists the valid names."""
    return FORCE_LOSSES[check_force_loss(name)]


#: Edges one evaluation batch holds at most (4096 graphs of up to 8 particles fit; large systems
#: go a few graphs at a time).
EVALUATION_EDGES = 2**18


@torch.no_grad()
def predict(model: ParticleGNN, samples: GraphSet, batch_size: int = 4096) -> torch.Tensor:
    """The model's accelerations [G, n, d] on `samples` (graphs, or windows: their weighted means),
    at most `batch_size` states and EVALUATION_EDGES edges at a time."""
    graphs = samples.states
    per_graph = graphs.subset(slice(0, 1)).edges_of(model.edges).senders.shape[-1]
    batch_size = max(1, min(batch_size, EVALUATION_EDGES // max(per_graph, 1)))
    return samples.average(torch.cat([model(*graphs.subset(slice(start, start + batch_size)).inputs)[0]
                                      for start in range(0, len(graphs), batch_size)]))


def evaluate(model: ParticleGNN, graphs: GraphSet, batch_size: int = 4096) -> float:
    """Mean absolute acceleration error on `graphs` (the reference's metric)."""
    predicted = predict(model, graphs, batch_size)
    return float((predicted - graphs.accelerations).abs().mean(dim=(-1, -2)).mean())
