"""Every restart of `EQLRegressor` trained in one pass, as one network (`parallel_copies`).

With ratio restarts, each restart has a numerator and a denominator head per output: plain
restarts fit y with the numerator alone (their denominators go unused and are pruned away), ratio
restarts fit y = N / D through the pole-free residual of y D - N (`eqlearn.eql.ratio`). One
network for both keeps it one training pass; without ratio restarts there is one head per output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from eqlearn.devices import resolve_device
from eqlearn.eql.network import EQLNetwork
from eqlearn.eql.ratio import ratio_residual
from eqlearn.eql.restarts import parallel_copies
from eqlearn.eql.sparsity import attach_gates, weight_penalty
from eqlearn.eql.training import History, Phase, train


@dataclass(frozen=True)
class Schedule:
    """How the restarts train: three phases of full-batch Adam (fit, sparsify, prune and fine-tune)."""

    epochs: tuple[int, int, int]
    lr: float
    penalty: str
    regularization: float
    prune_threshold: float
    init_scale: float | tuple[float, float]
    device: str = "cpu"
    verbose: bool = False


def train_side_by_side(inputs: torch.Tensor, targets: torch.Tensor, units: Sequence[Mapping[str, int]],
                       plain: int, ratio: int, schedule: Schedule,
                       first_layer_inputs: Mapping[str, Sequence[bool]] | None = None) -> tuple[EQLNetwork, History]:
    """`plain` + `ratio` restarts trained together; `first_layer_inputs` restricts what each unit
    of the first layer reads (`EQLLayer.restrict_inputs`). Returns the network on the CPU."""
    copies, outputs = plain + ratio, targets.shape[1]
    heads = 2 if ratio else 1
    scales = np.concatenate([_init_scales(schedule.init_scale, plain), _init_scales(schedule.init_scale, ratio)])
    network = parallel_copies(inputs.shape[1], heads * outputs, copies, list(units), len(units), init_scales=scales)
    if first_layer_inputs:
        network.hidden[0].restrict_inputs(first_layer_inputs)
    if schedule.penalty == "l0":
        attach_gates(network)
    device = resolve_device(schedule.device)  # training only: read-out and refit run on the CPU
    network.to(device)
    inputs, targets = inputs.to(device), targets.to(device)
    variance = targets.var(dim=0, unbiased=False).clamp_min(1e-12)

    def errors() -> torch.Tensor:
        parts = network(inputs).unflatten(-1, (copies, heads, outputs))
        numerator = parts[:, :, 0]
        fits = ((numerator[:, :plain] - targets[:, None]) ** 2).mean(dim=0) / variance
        if heads == 1:
            return fits.flatten()
        ratios = ratio_residual(numerator[:, plain:], parts[:, plain:, 1], targets[:, None])
        return torch.cat([fits, ratios]).flatten()

    def objective(_batch, regularization: float):
        error = errors()
        loss = error.sum() / outputs
        if regularization > 0:
            loss = loss + regularization * weight_penalty(network, schedule.penalty)
        return loss, {"loss": loss.detach(), "nmse": error.detach().mean()}

    fit, sparsify, fine_tune = schedule.epochs
    phases = [
        Phase(fit, schedule.lr, 0.0, name="fit"),
        Phase(sparsify, schedule.lr, schedule.regularization, name="sparsify"),
        Phase(fine_tune, schedule.lr, 0.0, prune_threshold=schedule.prune_threshold, name="fine-tune"),
    ]
    # one restart blowing up must not stop the others: selection drops it (inf error)
    try:
        history = train(network, objective, lambda: [None], [p for p in phases if p.epochs > 0],
                        progress=schedule.verbose, divergence_factor=math.inf)
    finally:
        network.cpu()
    return network, history


def _init_scales(init_scale: float | tuple[float, float], copies: int) -> np.ndarray:
    """One initial weight scale per restart: a pair spreads them geometrically between its ends."""
    low, high = (init_scale, init_scale) if np.isscalar(init_scale) else init_scale
    return np.geomspace(low, high, copies)
