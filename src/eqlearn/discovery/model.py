"""The model a resolved config describes: the particle GNN (edge model, node model, graph), its
learnable masses, where a switched model's steps start, and the training phases.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from eqlearn.discovery.config import CENTRAL_FORMS, DiscoverConfig
from eqlearn.eql.training import Phase
from eqlearn.gnn.edge_models import CentralEQLEdgeModel, EQLEdgeModel, logarithm_flags, mlp_edge_model
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.neighbours import NeighbourGraph, parse_graph
from eqlearn.gnn.node_models import MLPNodeModel, NewtonianNodeModel
from eqlearn.gnn.particles import LearnedMasses, MomentumEstimate, choose_reference, masses_from_momentum
from eqlearn.gnn.training import GraphSet

#: Initialisation k uses the seed `seed + RESTART_SEED_STRIDE * k` for weights and batch order.
RESTART_SEED_STRIDE = 7919


def build_model(config: DiscoverConfig, length_unit: float = 1.0) -> ParticleGNN:
    """The GNN of a resolved config (`resolve_config`), in a run whose unit of length is
    `length_unit` data units (the config's softening and a graph's radius are in the data's)."""
    names = config.features
    features = FeatureBuilder(names, config.dim, (config.softening or 0.0) / length_unit)
    size = config.message_size
    if config.edge_model == "mlp":
        edge = mlp_edge_model(config.variant, len(names), size)
    elif config.eql_form in CENTRAL_FORMS:
        edge = CentralEQLEdgeModel(names, config.dim, units=config.units, depth=config.depth,
                                   exponentials=config.eql_form == "screened", switches=config.eql_form == "switched")
    else:
        edge = EQLEdgeModel(len(names), size, units=config.units, depth=config.depth, log_inputs=logarithm_flags(names))
    if config.node_model == "newtonian":
        node = NewtonianNodeModel(config.dim, size)
    else:
        node = MLPNodeModel(size, config.dim)
    graph = parse_graph(config.graph, config.n)
    if isinstance(graph, NeighbourGraph) and graph.kind == "radius":
        graph = replace(graph, size=graph.size / length_unit)
    return ParticleGNN(features, edge, node, graph, antisymmetric=config.antisymmetric)


def place_switches(model: ParticleGNN, graphs: GraphSet, softening: float, sample: int = 1000) -> None:
    """Start a switched edge model's steps inside the pair distances of (a spread sample of) the
    training graphs (`CentralEQLEdgeModel.place_switches`); other edge models are left alone."""
    if getattr(model.edge_model, "switch_index", None) is None:
        return
    graphs = graphs.spread(sample)
    edges, context = graphs.float64_pairs(model.edges, softening)
    distances = context.message_variables()["r"]
    if edges.mask is not None:
        distances = distances[edges.mask]
    model.edge_model.place_switches(distances)


def learned_masses_for(config: DiscoverConfig, train_data, estimate: MomentumEstimate | None = None) -> LearnedMasses | None:
    """Learnable masses started from momentum conservation, or None when the run uses the data's.
    `estimate`: the momentum estimate, if not the one of the data's accelerations (weak targets)."""
    if not config.learn_masses:
        return None
    estimate = estimate or masses_from_momentum(train_data.accelerations)
    initial = estimate.masses
    reference = choose_reference(initial, getattr(train_data, "names", None), config.reference_particle)
    # training unit: every system starts with the same geometric-mean mass (systems of like particles
    # then start at like scales, which training only has to adjust), and the heaviest particle of
    # the reference's system weighs 1. The run's time unit makes the median acceleration one, and in
    # a law that couples masses the heaviest partners dominate it, so the law's coefficient is then of
    # order one; in units of a typical mass, Newton's coefficient for the solar system is 1e-6
    # instead of 0.06, made of weights that pruning takes for noise. The report's unit, the
    # reference particle's mass, is applied after.
    initial = initial / np.exp(np.log(initial).mean(axis=1, keepdims=True))
    return LearnedMasses(initial / initial[reference[0]].max(), reference, estimate.errors)


#: Learned charges: after every epoch of these phases each system's signs are chosen again, on at
#: most SIGN_SEARCH_GRAPHS training graphs.
SIGN_SEARCH_PHASES = ("law first", "sparsify")
SIGN_SEARCH_GRAPHS = 4000
#: A pruning round that leaves the force error this many times higher removed part of the law (`train`).
SPOILING_PRUNE = 10.0


def training_phases(config: DiscoverConfig) -> list[Phase]:
    """A sparsity phase, pruning rounds at rising thresholds, then fine-tuning without penalty.

    Learned masses first stay at their momentum estimate while the law takes shape: trained from
    the start, a system whose forces the first, random law overshoots shrinks its masses to where
    its error no longer depends on them, and stays there. Learned charges keep their magnitudes
    (only their signs are searched) until fine-tuning, for the same reason.
    """
    magnitudes = ("charges",) if config.learn_charges else ()
    law_first = [Phase(max(1, config.epochs // 2), config.lr, 1.0, name="law first", frozen=("masses", *magnitudes))] \
        if config.learn_masses else []
    if config.edge_model != "eql":
        return [*law_first, Phase(config.epochs, config.lr * 0.1, 1.0, name="train")]
    *rounds, last = config.prune_thresholds or [None]
    short = max(1, config.epochs // 3)
    return [
        *law_first,
        Phase(config.epochs, config.lr, 1.0, name="sparsify", frozen=magnitudes),
        *[Phase(short, config.lr / 3, 1.0, prune_threshold=t, name=f"prune {t:g}", frozen=magnitudes) for t in rounds],
        Phase(short, config.lr / 10, 0.0, schedule="constant", prune_threshold=last, name="fine-tune"),
    ]
