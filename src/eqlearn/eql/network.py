"""The EQL layer and network: ordinary torch modules whose weights read back as formulas."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import numpy as np
import sympy
import torch
from torch import nn

from eqlearn.eql.units import get_unit
from eqlearn.symbolic import MAX_EXPANDED_TERMS, clean_expression, expanded_terms, round_significant

#: The reference primitive set per hidden layer (Kim et al.), docs/design.md §5.
DEFAULT_UNITS: dict[str, int] = {
    "constant": 2, "identity": 4, "square": 4, "sin": 2, "exp": 2, "sigmoid": 2, "product": 2,
}

UnitCounts = Mapping[str, int]


class EQLLayer(nn.Module):
    """A bias-free linear map whose outputs feed primitive units (a product unit consumes two).

    `mask` holds pruned weights at exactly zero; sparsity penalties read `effective_weight()`.
    """

    def __init__(self, in_features: int, units: UnitCounts, init_scale: float = 1.0):
        super().__init__()
        self.units = [(get_unit(name), int(count)) for name, count in units.items() if count > 0]
        if not self.units:
            raise ValueError("an EQL layer needs at least one unit")
        self.in_features = in_features
        self.out_features = sum(count for _, count in self.units)
        n_linear = sum(unit.arity * count for unit, count in self.units)
        self.weight = nn.Parameter(torch.randn(n_linear, in_features) * init_scale / math.sqrt(in_features))
        self.register_buffer("mask", torch.ones(n_linear, in_features))
        self.gate = None  # optional hard-concrete gate module (eqlearn.eql.sparsity)

    @torch.no_grad()
    def restrict_inputs(self, allowed: Mapping[str, Sequence[bool]]) -> None:
        """Let each named unit read only the inputs flagged True; units not named read all.

        E.g. `exp` units that read only logarithms of positive inputs form power laws
        m1^a m2^b r^c and nothing else. Held in `mask`, so pruning keeps the restriction.
        """
        unknown = set(allowed) - {unit.name for unit, _ in self.units}
        if unknown:
            raise ValueError(f"this layer has no {', '.join(sorted(unknown))} units to restrict")
        row = 0
        for unit, count in self.units:
            rows = unit.arity * count
            if unit.name in allowed:
                flags = torch.as_tensor(list(allowed[unit.name]), dtype=self.mask.dtype)
                if flags.shape != (self.in_features,):
                    raise ValueError(f"need {self.in_features} input flags for {unit.name}, got {tuple(flags.shape)}")
                self.mask[row:row + rows] *= flags
            row += rows
        self.weight.mul_(self.mask)

    def rows_of(self, name: str) -> range:
        """The rows of `weight` that feed the units called `name` (empty when there are none)."""
        row = 0
        for unit, count in self.units:
            rows = unit.arity * count
            if unit.name == name:
                return range(row, row + rows)
            row += rows
        return range(0)

    def effective_weight(self) -> torch.Tensor:
        weight = self.weight * self.mask
        return weight * self.gate() if self.gate is not None else weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return unit_outputs(self.units, x @ self.effective_weight().T)

    def symbolic(
        self, inputs: Sequence[sympy.Expr], threshold: float, digits: int | None = None
    ) -> list[sympy.Expr]:
        """The layer's outputs as expressions of `inputs`; weights below `threshold` are dropped.

        `digits=None` keeps full precision, so rounding can happen once, on the final formula,
        instead of compounding through the layers.
        """
        weight = self.effective_weight().detach().cpu().numpy().astype(float)
        linear = [_linear_combination(row, inputs, threshold, digits) for row in weight]
        outputs, k = [], 0
        for unit, count in self.units:
            for j in range(count):
                args = [linear[k + i * count + j] for i in range(unit.arity)]
                outputs.append(unit.sympy(*args) if unit.arity else sympy.Integer(1))
            k += unit.arity * count
        return outputs


def unit_outputs(units, z: torch.Tensor) -> torch.Tensor:
    """The units' outputs [..., out] from their linear inputs `z` [..., n_linear], in unit order."""
    # one split instead of many slices: slicing's backward allocates a full-size zero tensor each
    pieces = iter(z.split([count for unit, count in units for _ in range(unit.arity)], dim=-1))
    outputs = []
    for unit, count in units:
        if unit.arity == 0:
            outputs.append(z.new_ones(*z.shape[:-1], count))
        else:
            outputs.append(unit.torch(*[next(pieces) for _ in range(unit.arity)]))
    return torch.cat(outputs, dim=-1)


def _linear_combination(row: np.ndarray, inputs, threshold: float, digits: int | None) -> sympy.Expr:
    kept = [(w, x) for w, x in zip(row, inputs) if abs(w) >= threshold]
    return sympy.Add(*[sympy.Float(w if digits is None else round_significant(w, digits)) * x for w, x in kept])


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run a block with `module` in eval mode (deterministic gates), then restore its mode."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class EQLNetwork(nn.Module):
    """Hidden EQL layers followed by a linear (or division) output layer.

    Works on inputs of any leading shape [..., in_features], so it drops into any architecture.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        units: UnitCounts | Sequence[UnitCounts] = DEFAULT_UNITS,
        depth: int = 2,
        output_unit: str = "identity",
        init_scale: float = 1.0,
    ):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError("in_features and out_features must be positive")
        per_layer = [units] * depth if isinstance(units, Mapping) else list(units)
        layers, width = [], in_features
        for layer_units in per_layer:
            layers.append(EQLLayer(width, layer_units, init_scale))
            width = layers[-1].out_features
        self.hidden = nn.ModuleList(layers)
        self.output = EQLLayer(width, {output_unit: out_features}, init_scale)
        self.in_features, self.out_features = in_features, out_features

    @property
    def layers(self) -> list[EQLLayer]:
        return [*self.hidden, self.output]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"EQL network expects {self.in_features} input features, got {x.shape[-1]}")
        for layer in self.layers:
            x = layer(x)
        return x

    def to_sympy(
        self, input_names: Sequence[str | sympy.Expr], threshold: float = 1e-2, digits: int = 3
    ) -> list[sympy.Expr]:
        """One simplified expression per output; units whose inputs were all dropped vanish.

        Weights below `threshold` are dropped; the numbers of the final formula are rounded to
        `digits` significant digits. Gates (if any) take their deterministic eval-mode value. An
        unpruned network whose formula would expand into more than MAX_EXPANDED_TERMS terms is
        read with the threshold doubled until it does not: its largest weights, in seconds (a
        threshold of 0 asks for every weight, and gets them however long the formula).
        """
        if len(input_names) != self.in_features:
            raise ValueError(f"need {self.in_features} input names, got {len(input_names)}")
        inputs = [sympy.Symbol(name) if isinstance(name, str) else name for name in input_names]
        while True:
            exprs = inputs
            with eval_mode(self):
                for layer in self.layers:
                    exprs = layer.symbolic(exprs, threshold)
            if threshold <= 0 or max(map(expanded_terms, exprs), default=0) <= MAX_EXPANDED_TERMS:
                return [clean_expression(e, digits=digits, drop_below=threshold) for e in exprs]
            threshold *= 2
