"""The top messages of a trained particle GNN, as numbers and as formulas.

An EQL edge model is read straight from its weights; any other edge model (the MLP baseline) gets
a symbolic regression of its top messages.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy
import torch

from eqlearn.gnn.edge_models import ReadableEdgeModel
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.training import LIVE_MESSAGE_FRACTION, GraphSet
from eqlearn.readout.canonical import drop_negligible_terms
from eqlearn.sr import fit_symbolic, plot_pareto_front
from eqlearn.symbolic import to_string
from eqlearn.vocabulary.files import write_text_atomically

#: Terms that together change a message by less than this fraction of its RMS are not printed.
NEGLIGIBLE_TERM = 0.02
#: Edges the read-out looks at, at most (graphs of large systems hold thousands each).
READOUT_EDGES = 2**17
#: ... and on windows of states (weak form), whose noisy targets average down only over many windows.
WINDOW_READOUT_EDGES = 2**19


@dataclass
class MessageReadout:
    """The top-d messages of a trained model, as numbers and as formulas."""

    top: list[int]
    expressions: list[sympy.Expr]
    stds: np.ndarray
    values: np.ndarray  # [edges, d] values of the top messages
    variables: dict[str, np.ndarray]  # message variables on the same edges
    live: int
    formulas: dict[int, sympy.Expr]  # top messages by index, every term kept (the refit's candidates)
    fits: list = field(default_factory=list)  # the symbolic regressions of the top messages (baseline route)


def read_top_messages(model: ParticleGNN, graphs: GraphSet, dim: int, sr_seed: int = 0, limit: int = 2048,
                      mass_unit: float = 1.0, charge_unit: float = 1.0, log=None) -> MessageReadout:
    """Rank messages by std, keep the top `dim`, and write them as formulas.

    An EQL edge model is read straight from its weights; any other edge model gets a symbolic
    regression fitted to its top messages (the baseline route). With learned masses, `graphs`
    carry them in the training unit and the formulas come out in masses `mass_unit` times smaller
    (the reference particle's unit), and so do the masses among `variables`; learned charges the
    same with `charge_unit` (signed: the reference particle's charge becomes +1). `log` hears
    what each step is doing (default: this module's logger).
    """
    log = log or logging.getLogger(__name__).info
    part = readout_graphs(model, graphs, limit)
    edges = part.edges_of(model.edges)
    model.eval()  # variational messages: read their means
    with torch.no_grad():
        messages = _existing(model.messages(*part.inputs, edges=edges), edges).reshape(-1, model.edge_model.n_messages)
    messages = messages.numpy()
    variables = _variables_on(model, part, edges)
    for name, unit in (("m1", mass_unit), ("m2", mass_unit), ("q1", charge_unit), ("q2", charge_unit)):
        variables[name] = variables[name] / unit  # in the units the formulas are written in
    stds = messages.std(axis=0)
    top = [int(i) for i in np.argsort(-stds)[:dim]]
    live_stds = stds > LIVE_MESSAGE_FRACTION * stds.max()
    if isinstance(model.edge_model, ReadableEdgeModel):
        log(f"read-out: the edge model's {model.edge_model.n_messages} messages as formulas, from the weights")
        formulas = model.message_expressions(mass_unit=mass_unit, charge_unit=charge_unit)
        live = sum(1 for e, on in zip(formulas, live_stds) if on and e != 0)
        full = {i: formulas[i] for i in top}
        expressions = []
        for rank, i in enumerate(top, 1):
            log(f"read-out: message {rank} of {len(top)}, dropping negligible terms")
            expressions.append(drop_negligible_terms(full[i], variables, NEGLIGIBLE_TERM))
        fits = []
    else:
        live = int(live_stds.sum())
        names = sorted(variables)
        table = np.column_stack([variables[k] for k in names])
        fits = []
        for rank, i in enumerate(top, 1):
            log(f"read-out: message {rank} of {len(top)} by symbolic regression")
            fits.append(fit_symbolic(table, messages[:, i], names, random_state=sr_seed))
        expressions = [fit.expression for fit in fits]
        full = dict(zip(top, expressions))
    return MessageReadout(top, expressions, stds, messages[:, top], variables, live, full, fits)


def message_variables(model: ParticleGNN, graphs: GraphSet, limit: int = 2048) -> dict[str, np.ndarray]:
    """The message variables on the read-out's edges (`read_top_messages`, and again after the
    masses they use changed)."""
    part = readout_graphs(model, graphs, limit)
    return _variables_on(model, part, part.edges_of(model.edges))


def _variables_on(model: ParticleGNN, graphs: GraphSet, edges: EdgeList) -> dict[str, np.ndarray]:
    """The message variables of `graphs` on their existing `edges`, one value per edge."""
    with torch.no_grad():
        context = model.pair_context(*graphs.inputs, edges=edges)
    return {k: _existing(v, edges).reshape(-1).numpy().astype(float) for k, v in context.message_variables().items()}


def readout_graphs(model: ParticleGNN, graphs: GraphSet, limit: int) -> GraphSet:
    """At most `limit` graphs (or windows of states) spread through the set, fewer where their
    states hold more than READOUT_EDGES (windows: WINDOW_READOUT_EDGES) edges together."""
    first = graphs.states.subset(slice(0, 1)).edges_of(model.edges)
    per_graph = int(first.mask.sum()) if first.mask is not None else len(first.receivers)
    edges = READOUT_EDGES if graphs.points == 1 else WINDOW_READOUT_EDGES
    return graphs.spread(max(1, min(limit, edges // max(per_graph * graphs.points, 1))))


def _existing(values: torch.Tensor, edges: EdgeList) -> torch.Tensor:
    """Per-edge values [..., E(, M)] of the edges that exist (neighbour graphs pad theirs), as
    [edges(, M)] in graph order when some are padding, unchanged otherwise."""
    return values if edges.mask is None else values[edges.mask]


def write_pareto_fronts(out: Path, readout: MessageReadout) -> None:
    """The SR trade-off behind each top message (baseline route): pareto_fronts.json and one PNG per message."""
    if not readout.fits:
        return
    fronts = []
    for rank, (index, fit) in enumerate(zip(readout.top, readout.fits), start=1):
        plot_pareto_front(fit, out / f"pareto_message_{rank}.png", f"message {index} (top {rank})")
        fronts.append({"index": index, "engine": fit.engine, "r2": round(fit.r2, 6), "chosen": to_string(fit.expression),
                       "front": [{"complexity": c, "loss": loss, "expression": to_string(e)}
                                 for c, loss, e in fit.pareto_front]})
    write_text_atomically(out / "pareto_fronts.json", json.dumps(fronts, indent=2))
