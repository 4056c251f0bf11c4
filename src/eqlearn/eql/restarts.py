"""Random restarts trained in one pass: independent EQL networks side by side in one network.

Tiny EQL networks spend their time in per-operation overhead, not arithmetic, so training R of
them as one network with block-diagonal masks costs about as much as training one. The masks keep
the copies independent (no weight connects two copies), and `extract_copy` takes one back out as
an ordinary `EQLNetwork`.
"""
from __future__ import annotations

import copy
from typing import Mapping, Sequence

import torch

from eqlearn.eql.network import EQLLayer, EQLNetwork, UnitCounts


def _units_per_layer(units: UnitCounts | Sequence[UnitCounts], depth: int) -> list[dict[str, int]]:
    per_layer = [units] * depth if isinstance(units, Mapping) else list(units)
    return [dict(layer_units) for layer_units in per_layer]


def _owners(layer: EQLLayer, copies: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Which copy owns each linear row and each output of a layer built with `copies`x the units."""
    rows, outputs = [], []
    for unit, count in layer.units:
        per_copy = count // copies
        owner = [j // per_copy for j in range(count)]
        outputs += owner
        rows += owner * unit.arity
    return torch.tensor(rows), torch.tensor(outputs)


def parallel_copies(
    in_features: int,
    out_features: int,
    copies: int,
    units: UnitCounts | Sequence[UnitCounts],
    depth: int = 2,
    init_scales: Sequence[float] | None = None,
    **network_options,
) -> EQLNetwork:
    """`copies` independent networks in one; output `c * out_features + o` is copy c's output o.

    `init_scales` (one per copy) multiply each copy's initial weights, so restarts can explore
    different regimes, e.g. the high frequencies of sin(2*pi*x) or the steep slope of a sigmoid.
    """
    per_layer = _units_per_layer(units, depth)
    widened = [{name: count * copies for name, count in layer_units.items()} for layer_units in per_layer]
    network = EQLNetwork(in_features, out_features * copies, widened, **network_options)
    row_scale = torch.ones(copies) if init_scales is None else torch.as_tensor(init_scales, dtype=torch.float32)
    input_owner = None  # the inputs are shared by all copies
    for layer in network.layers:
        row_owner, output_owner = _owners(layer, copies)
        if input_owner is not None:
            layer.mask.copy_((row_owner[:, None] == input_owner[None, :]).to(layer.mask.dtype))
        with torch.no_grad():
            layer.weight.mul_(layer.mask * row_scale[row_owner][:, None].to(layer.weight))
        input_owner = output_owner
    return network


def extract_copy(
    network: EQLNetwork, index: int, copies: int, units: UnitCounts | Sequence[UnitCounts], depth: int = 2
) -> EQLNetwork:
    """Copy `index` of a `parallel_copies` network as a stand-alone `EQLNetwork` (weights, masks, gates)."""
    per_layer = _units_per_layer(units, depth)
    output_unit = network.output.units[0][0].name
    single = EQLNetwork(network.in_features, network.out_features // copies, per_layer, output_unit=output_unit)
    single.to(network.output.weight)
    columns = torch.arange(network.in_features)
    for source, target in zip(network.layers, single.layers):
        row_owner, output_owner = _owners(source, copies)
        rows = torch.nonzero(row_owner == index).flatten()
        with torch.no_grad():
            target.weight.copy_(source.weight[rows][:, columns])
            target.mask.copy_(source.mask[rows][:, columns])
        if source.gate is not None:
            target.gate = copy.deepcopy(source.gate)
            target.gate.log_alpha = torch.nn.Parameter(source.gate.log_alpha.detach()[rows][:, columns].clone())
        columns = torch.nonzero(output_owner == index).flatten()
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
