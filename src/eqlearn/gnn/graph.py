"""Particle graphs and message passing over an edge list, batched over many systems.

Edge e carries a message from `senders[e]` to `receivers[e]`; messages are summed per receiver.
`edge_index` writes the edges in PyTorch Geometric's order, [2, E] with row 0 the sources (senders)
and row 1 the targets (receivers), so a graph and an edge model move between eqlearn and PyG
unchanged. A complete graph is just the edge list of all ordered pairs, so one code path serves both
the fully connected systems of the simulator and graphs that are not complete. Graphs rebuilt from
every state's positions (`eqlearn.gnn.neighbours`) are edge lists too: the same receivers in every
graph, senders that differ per graph, and a mask over unused slots.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from eqlearn.errors import UserInputError
from eqlearn.gnn.features import PairContext
from eqlearn.vocabulary.periodic import displacement


def checked_edge_index(edge_index, n: int) -> torch.Tensor:
    """`edge_index` as a [2, E] long tensor of (source, target) rows, or a UserInputError saying
    why it is not a graph on n particles: a particle exerts no force on itself, so no self-loops."""
    try:
        index = torch.as_tensor(edge_index, dtype=torch.long)
    except (TypeError, ValueError, RuntimeError) as error:
        raise UserInputError(f"edge_index must be an integer array of shape [2, E]: {error}") from None
    if index.dim() != 2 or index.shape[0] != 2:
        raise UserInputError(f"edge_index must have shape [2, E] (sources, targets), got {list(index.shape)}")
    if index.numel() and (index.min() < 0 or index.max() >= n):
        raise UserInputError(f"edge indices must lie in [0, {n})")
    if (index[0] == index[1]).any():
        raise UserInputError("self-loops are not allowed: a particle exerts no force on itself")
    return index


@dataclass(frozen=True, kw_only=True)
class EdgeList:
    """Directed edges sender → receiver on `n_nodes` particles. Keyword-only, so that the order of
    senders and receivers can never be swapped by position.

    A fixed graph has `senders` [E]; a graph built per state has `senders` [..., E] (one row per
    graph, the batch shape of the positions it was built from) and may have a `mask` [..., E] whose
    False entries are padding: pairs that are gathered but carry no message.
    """

    senders: torch.Tensor  # [E] or [..., E] long: sources
    receivers: torch.Tensor  # [E] long: targets, the same in every graph
    n_nodes: int
    mask: torch.Tensor | None = None  # [..., E] bool: the edges that exist

    def for_positions(self, positions, box=None) -> "EdgeList":
        """The edges of the graphs at `positions` (in a periodic `box`): a fixed edge list is the
        same for every state."""
        return self

    @classmethod
    def complete(cls, n: int) -> "EdgeList":
        """All n(n-1) directed edges, no self-loops."""
        idx = torch.arange(n)
        receivers, senders = torch.meshgrid(idx, idx, indexing="ij")
        keep = receivers != senders
        return cls(senders=senders[keep], receivers=receivers[keep], n_nodes=n)

    @classmethod
    def from_edge_index(cls, edge_index, n: int) -> "EdgeList":
        """Edges from a [2, E] tensor or array in PyG's order: row 0 the sources, row 1 the targets."""
        index = checked_edge_index(edge_index, n)
        return cls(senders=index[0], receivers=index[1], n_nodes=n)

    @classmethod
    def from_pairs(cls, pairs, n: int) -> "EdgeList":
        """Edges given as (source, target) pairs, PyG's order: (j, i) carries j's message to i."""
        index = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2)
        return cls.from_edge_index(index.T, n)

    @property
    def edge_index(self) -> torch.Tensor:
        """PyG's edge_index: [2, E] long, sources (senders) then targets (receivers); the existing
        edges of one graph (a batch of graphs built per state has one edge list per state)."""
        if self.senders.dim() != 1:
            raise UserInputError("a batch of neighbour graphs has no single edge_index; build one state's graph")
        if self.mask is None:
            return torch.stack([self.senders, self.receivers])
        return torch.stack([self.senders[self.mask], self.receivers[self.mask]])

    def reverse_index(self) -> torch.Tensor | None:
        """For every edge j → i, the position of i → j; None when some reverse edge is missing (or
        the graph differs from state to state)."""
        if self.senders.dim() != 1 or self.mask is not None:
            return None
        n = self.n_nodes
        position = {int(r) * n + int(s): e for e, (r, s) in enumerate(zip(self.receivers, self.senders))}
        reverse = [position.get(int(s) * n + int(r)) for r, s in zip(self.receivers, self.senders)]
        return None if None in reverse else torch.tensor(reverse, dtype=torch.long)

    def pair_context(self, positions, masses, charges, velocities=None, softening: float = 0.0, box=None) -> PairContext:
        """Gather per-edge quantities from node arrays [..., n, d] and [..., n]; in a periodic `box`
        [..., d], Δ is the minimum-image displacement."""
        r = self.receivers
        dv = None if velocities is None else velocities[..., r, :] - self._at_senders(velocities, vector=True)
        return PairContext(
            delta=displacement(positions[..., r, :], self._at_senders(positions, vector=True),
                               None if box is None else box[..., None, :]),
            m1=masses[..., r], m2=self._at_senders(masses), q1=charges[..., r], q2=self._at_senders(charges), dv=dv,
            softening=softening,
        )

    def _at_senders(self, values: torch.Tensor, vector: bool = False) -> torch.Tensor:
        """Per-node values [..., n] (or [..., n, d] when `vector`) gathered at every edge's sender."""
        s = self.senders
        if s.dim() == 1:
            return values[..., s, :] if vector else values[..., s]
        return torch.take_along_dim(values, s[..., None], dim=-2) if vector else torch.take_along_dim(values, s, dim=-1)

    def aggregate(self, messages: torch.Tensor) -> torch.Tensor:
        """Sum edge messages [..., E, M] into their receivers [..., n, M] (padding carries none)."""
        if self.mask is not None:
            messages = torch.where(self.mask[..., None], messages, messages.new_zeros(()))
        shape = (*messages.shape[:-2], self.n_nodes, messages.shape[-1])
        return messages.new_zeros(shape).index_add_(messages.dim() - 2, self.receivers, messages)
