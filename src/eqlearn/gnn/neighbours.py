"""Neighbour graphs rebuilt from every state: each particle's k nearest, or all within a radius.

Particles move, so a neighbour graph belongs to one state. `NeighbourGraph.for_positions` builds
the edges of a batch of states as one `EdgeList`: every particle receives from K slots (the same
receivers in every graph), the senders differ per graph, and for a radius graph K is the largest
neighbour count in the batch, the slots a particle does not need being masked out. The model's
memory then grows with the edges, n·K per graph, not with n²; the neighbour search holds one
distance matrix per graph for `SEARCH_CHUNK` graphs at a time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from eqlearn.errors import UserInputError
from eqlearn.gnn.catalog import read_graph
from eqlearn.gnn.graph import EdgeList
from eqlearn.vocabulary.periodic import displacement

#: Graphs whose [n, n] distance matrices the neighbour search holds at once.
SEARCH_CHUNK = 32


@dataclass(frozen=True)
class NeighbourGraph:
    """Edges j → i for the `size` nearest j of every i (kind "knn"), or for every j with
    |x_i - x_j| < `size` (kind "radius"), rebuilt from the positions of each state (in a periodic
    box: the nearest images)."""

    kind: str
    size: float
    n_nodes: int

    def for_positions(self, positions: torch.Tensor, box: torch.Tensor | None = None) -> EdgeList:
        """The edges of the graphs at `positions` [..., n, d], in periodic boxes [..., d] if given."""
        batch, n = positions.shape[:-2], self.n_nodes
        if positions.shape[-2] != n:
            raise UserInputError(f"a neighbour graph of {n} particles got positions of {positions.shape[-2]}")
        flat = torch.as_tensor(positions).detach().reshape(-1, n, positions.shape[-1])
        boxes = None if box is None else torch.as_tensor(box, dtype=flat.dtype).broadcast_to((*batch, flat.shape[-1]))
        boxes = None if boxes is None else boxes.reshape(-1, 1, 1, flat.shape[-1])
        if boxes is not None and self.kind == "radius" and boxes.numel() and 2 * self.size > float(boxes.min()):
            raise UserInputError(f"graph radius {self.size:g} is more than half the periodic box ({float(boxes.min()):g}): "
                                 "a pair would meet within it through more than one image; choose a radius below half the box")
        chunk = lambda a, i: None if a is None else a[i:i + SEARCH_CHUNK]
        with torch.no_grad():
            nearest = [self._nearest(flat[i:i + SEARCH_CHUNK], chunk(boxes, i)) for i in range(0, len(flat), SEARCH_CHUNK)]
        slots = max((s.shape[-1] for _, s in nearest), default=1)  # the most crowded particle of any chunk
        distances = torch.cat([_pad(d, slots, math.inf) for d, _ in nearest]) if nearest \
            else flat.new_zeros((0, n, slots))
        senders = torch.cat([_pad(s, slots, 0) for _, s in nearest]) if nearest \
            else torch.zeros((0, n, slots), dtype=torch.long, device=flat.device)
        receivers = torch.arange(n, device=flat.device).repeat_interleave(slots)
        if self.kind == "knn":
            return EdgeList(senders=senders.reshape(*batch, n * slots), receivers=receivers, n_nodes=n)
        within = distances < self.size
        # a padded slot repeats the particle's nearest neighbour: the edge model never sees a far pair
        senders = torch.where(within, senders, senders[..., :1])
        return EdgeList(senders=senders.reshape(*batch, n * slots), receivers=receivers, n_nodes=n,
                        mask=within.reshape(*batch, n * slots))

    @staticmethod
    def _distances(chunk: torch.Tensor, box: torch.Tensor | None = None) -> torch.Tensor:
        """|x_i - x_j| [B, n, n], computed directly (not through a matrix product, which rounds
        differently near the radius), to the nearest image in a periodic `box` [B, 1, 1, d] (one
        axis at a time, so only [B, n, n] arrays are held); a particle is infinitely far from itself."""
        if box is None:
            distances = torch.cdist(chunk, chunk, compute_mode="donot_use_mm_for_euclid_dist")
        else:
            distances = sum(displacement(chunk[:, :, None, k], chunk[:, None, :, k], box[..., k]) ** 2
                            for k in range(chunk.shape[-1])).sqrt()
        far = torch.full(distances.shape[:-1], math.inf, dtype=distances.dtype, device=distances.device)
        return distances.diagonal_scatter(far, dim1=-2, dim2=-1)

    def _nearest(self, chunk: torch.Tensor, box: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(distances, indices) [B, n, slots] of every particle's nearest others: K of them, or for a
        radius graph as many as the most crowded particle of the chunk has within the radius (at
        least 1); the distance matrix is computed once."""
        distances = self._distances(chunk, box)
        n = chunk.shape[-2]
        if self.kind == "knn":
            slots = min(int(self.size), n - 1)
        else:
            slots = max(1, int((distances < self.size).sum(-1).max())) if distances.numel() else 1
        return distances.topk(slots, dim=-1, largest=False)


def _pad(values: torch.Tensor, slots: int, fill) -> torch.Tensor:
    """[B, n, k] values widened to [B, n, slots] with `fill` (chunks with fewer neighbours)."""
    missing = slots - values.shape[-1]
    return values if missing == 0 else torch.cat([values, values.new_full((*values.shape[:-1], missing), fill)], -1)


def parse_graph(text: str, n: int) -> EdgeList | NeighbourGraph:
    """"complete", "radius R" or "knn K" (the `--graph` setting, `catalog.read_graph`) for systems of n particles."""
    kind, size = read_graph(text)
    return EdgeList.complete(n) if kind == "complete" else NeighbourGraph(kind, size, n)
