"""Particle graphs and message passing over an edge list, batched over many systems.

Edge e carries a message from `senders[e]` to `receivers[e]`; messages are summed per receiver.
A complete graph is just the edge list of all ordered pairs, so one code path serves both the
fully connected systems of the simulator and graphs that are not complete.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from eqlearn.errors import UserInputError
from eqlearn.gnn.features import PairContext


@dataclass(frozen=True)
class EdgeList:
    receivers: torch.Tensor  # [E] long
    senders: torch.Tensor  # [E] long
    n_nodes: int

    @classmethod
    def complete(cls, n: int) -> "EdgeList":
        """All n(n-1) directed edges, no self-loops."""
        idx = torch.arange(n)
        receivers, senders = torch.meshgrid(idx, idx, indexing="ij")
        keep = receivers != senders
        return cls(receivers[keep], senders[keep], n)

    @classmethod
    def from_pairs(cls, pairs, n: int) -> "EdgeList":
        """Edges given as (receiver, sender) pairs."""
        index = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2)
        if index.numel() and (index.min() < 0 or index.max() >= n):
            raise UserInputError(f"edge indices must lie in [0, {n})")
        if (index[:, 0] == index[:, 1]).any():
            raise UserInputError("self-loops are not allowed: a particle exerts no force on itself")
        return cls(index[:, 0], index[:, 1], n)

    def reverse_index(self) -> torch.Tensor | None:
        """For every edge j → i, the position of i → j; None when some reverse edge is missing."""
        n = self.n_nodes
        position = {int(r) * n + int(s): e for e, (r, s) in enumerate(zip(self.receivers, self.senders))}
        reverse = [position.get(int(s) * n + int(r)) for r, s in zip(self.receivers, self.senders)]
        return None if None in reverse else torch.tensor(reverse, dtype=torch.long)

    def pair_context(self, positions, masses, charges, velocities=None, softening: float = 0.0) -> PairContext:
        """Gather per-edge quantities from node arrays [..., n, d] and [..., n]."""
        r, s = self.receivers, self.senders
        dv = None if velocities is None else velocities[..., r, :] - velocities[..., s, :]
        return PairContext(
            delta=positions[..., r, :] - positions[..., s, :],
            m1=masses[..., r], m2=masses[..., s], q1=charges[..., r], q2=charges[..., s], dv=dv, softening=softening,
        )

    def aggregate(self, messages: torch.Tensor) -> torch.Tensor:
        """Sum edge messages [..., E, M] into their receivers [..., n, M]."""
        shape = (*messages.shape[:-2], self.n_nodes, messages.shape[-1])
        return messages.new_zeros(shape).index_add_(messages.dim() - 2, self.receivers, messages)
