"""Random restarts trained in one pass: independent EQL networks stacked along a batch axis.

Tiny EQL networks spend their time in per-operation overhead, not arithmetic, so training R of
them at once costs little more than training one. Each layer holds one weight matrix per copy
([copies, rows, inputs]) and applies them with one batched product, so no weight connects two
copies and no time goes into the zeros of a block-diagonal matrix; `extract_copy` takes one copy
back out as an ordinary `EQLNetwork`. Pruning, penalties and gates act on these weights as on
any `EQLLayer` (they are element-wise).
"""
from __future__ import annotations

import copy
import math
from typing import Mapping, Sequence

import torch
from torch import nn

from eqlearn.eql.network import EQLLayer, EQLNetwork, UnitCounts, unit_outputs


def _units_per_layer(units: UnitCounts | Sequence[UnitCounts], depth: int) -> list[dict[str, int]]:
    per_layer = [units] * depth if isinstance(units, Mapping) else list(units)
    return [dict(layer_units) for layer_units in per_layer]


class StackedEQLLayer(EQLLayer):
    """`copies` EQL layers with the same units side by side: weight and mask [copies, rows,
    inputs]. The first layer reads inputs [..., inputs] shared by every copy; the others read
    [copies, ..., inputs], each copy its own."""

    def __init__(self, in_features: int, units: UnitCounts, copies: int, init_scales: torch.Tensor, shared_input: bool):
        super().__init__(in_features, units)
        rows = self.weight.shape[0]
        # the initial scale of one layer reading every copy's outputs (as the defaults were tuned):
        # 1/sqrt(inputs) for the shared first layer, 1/sqrt(copies x inputs) behind it
        fan_in = in_features if shared_input else copies * in_features
        weight = torch.randn(copies, rows, in_features) / math.sqrt(fan_in) * init_scales[:, None, None]
        self.weight = nn.Parameter(weight)
        self.mask = torch.ones(copies, rows, in_features)
        self.copies, self.shared_input = copies, shared_input

    @torch.no_grad()
    def restrict_inputs(self, allowed: Mapping[str, Sequence[bool]]) -> None:
        """As `EQLLayer.restrict_inputs`, for every copy at once."""
        for unit, count in self.units:
            if unit.name in allowed:
                rows = self.rows_of(unit.name)
                flags = torch.as_tensor(list(allowed[unit.name]), dtype=self.mask.dtype)
                self.mask[:, rows.start:rows.stop] *= flags
        self.weight.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.effective_weight()
        z = torch.einsum("...i,cri->c...r", x, weight) if self.shared_input else x @ weight.transpose(-1, -2)
        return unit_outputs(self.units, z)


class StackedEQLNetwork(nn.Module):
    """`copies` EQL networks of the same shape in one module; output [..., copies * out_features],
    copy c's output o at c * out_features + o."""

    def __init__(self, in_features: int, out_features: int, copies: int, per_layer: list[dict[str, int]],
                 init_scales: torch.Tensor, output_unit: str = "identity"):
        super().__init__()
        layers, width = [], in_features
        for index, layer_units in enumerate(per_layer):
            layers.append(StackedEQLLayer(width, layer_units, copies, init_scales, shared_input=index == 0))
            width = layers[-1].out_features
        self.hidden = nn.ModuleList(layers)
        self.output = StackedEQLLayer(width, {output_unit: out_features}, copies, init_scales, shared_input=not layers)
        self.in_features, self.out_features, self.copies = in_features, out_features, copies
        self.units = per_layer

    @property
    def layers(self) -> list[StackedEQLLayer]:
        return [*self.hidden, self.output]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x.movedim(0, -2).flatten(-2)  # [copies, ..., out] -> [..., copies * out]


def parallel_copies(
    in_features: int,
    out_features: int,
    copies: int,
    units: UnitCounts | Sequence[UnitCounts],
    depth: int = 2,
    init_scales: Sequence[float] | None = None,
) -> StackedEQLNetwork:
    """`copies` independent networks in one; output `c * out_features + o` is copy c's output o.

    `init_scales` (one per copy) multiply each copy's initial weights, so restarts can explore
    different regimes, e.g. the high frequencies of sin(2*pi*x) or the steep slope of a sigmoid.
    """
    scales = torch.ones(copies) if init_scales is None else torch.as_tensor(init_scales, dtype=torch.float32)
    return StackedEQLNetwork(in_features, out_features, copies, _units_per_layer(units, depth), scales)


def extract_copy(network: StackedEQLNetwork, index: int) -> EQLNetwork:
    """Copy `index` of a `parallel_copies` network as a stand-alone `EQLNetwork` (weights, masks, gates)."""
    output_unit = network.output.units[0][0].name
    single = EQLNetwork(network.in_features, network.out_features, network.units, output_unit=output_unit)
    single.to(network.output.weight)
    for source, target in zip(network.layers, single.layers):
        with torch.no_grad():
            target.weight.copy_(source.weight[index])
            target.mask.copy_(source.mask[index])
        if source.gate is not None:
            target.gate = copy.deepcopy(source.gate)
            target.gate.log_alpha = torch.nn.Parameter(source.gate.log_alpha.detach()[index].clone())
    return single


def keep_outputs(network: EQLNetwork, count: int) -> EQLNetwork:
    """`network` with only its first `count` outputs (a linear output layer's first rows); the
    network itself when it has no others."""
    if count == network.out_features:
        return network
    single = copy.deepcopy(network)
    output = single.output
    if output.units[0][0].arity != 1:
        raise ValueError("keep_outputs needs a one-argument output unit")
    output.weight = torch.nn.Parameter(output.weight.detach()[:count].clone())
    output.mask = output.mask[:count].clone()
    if output.gate is not None:
        output.gate.log_alpha = torch.nn.Parameter(output.gate.log_alpha.detach()[:count].clone())
    output.units = [(output.units[0][0], count)]
    output.out_features = single.out_features = count
    return single
