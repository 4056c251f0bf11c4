"""The law read from a trained particle GNN: top messages, refit and (with learned masses) polish.

The read-out stage (`eqlearn.discovery.stages.read_out`) and the early stop of training
(`eqlearn.discovery.early_stop`) read a law the same way, through `read_law`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
import torch

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.particles import LearnedCharges, LearnedMasses, choose_reference
from eqlearn.gnn.training import GraphSet
from eqlearn.readout.canonical import single_axis_form
from eqlearn.readout.messages import MessageReadout, message_variables, read_top_messages, readout_graphs
from eqlearn.readout.polish import polish_law_and_masses
from eqlearn.readout.refit import RefittedMessage, refit_messages, shorter_of_equals
from eqlearn.readout.switches import SEARCH_GRAPHS, best_step, hard_step_formula

#: Training graphs the refit of a read-out law uses (least squares over a handful of terms).
REFIT_GRAPHS = 2000


#: Learned masses: rounds of refit and joint polish of the law's numbers and the masses (`read_out_law`).
POLISH_ROUNDS = 3


#: ... and stop once a round improves the held-out error by less than 1 %.
POLISH_SETTLED = 0.99


@dataclass
class LawRead:
    """The law as `read_law` reads it: top messages, refitted law (top-message order), the masses
    and charges it is written in, the polish of learned masses and the test graphs with them."""

    readout: MessageReadout
    refitted: list[RefittedMessage]
    law: list[sympy.Expr]
    masses: np.ndarray | None
    polished: object
    test_set: GraphSet
    charges: np.ndarray | None = None
    charge_reference: tuple[int, int] | None = None


def read_law(config: DiscoverConfig, softening: float, names, model: ParticleGNN, network_sets: list[GraphSet],
             masses: LearnedMasses | None = None, learned_charges: LearnedCharges | None = None, log=None) -> LawRead:
    """The top messages and the law refitted (and polished with the masses, where they were
    learned), in the run's units (`softening` in them; `names`: the particles' names, or None): the
    read-out of the law itself, which the read-out stage and the early stop both ask for; `log`
    says what each step is doing."""
    log = log or (lambda _: None)
    charges, charge_reference, charge_unit = None, None, 1.0
    if learned_charges is not None:  # learned charges in units of the reference particle's (+1)
        charge_reference = choose_reference(np.abs(learned_charges.value.detach().numpy()),
                                            names, config.reference_particle)
        charges, charge_unit = (learned_charges.in_reference_units(charge_reference),
                                learned_charges.unit(charge_reference))
    readout = read_top_messages(model, network_sets[2].states, config.dim, sr_seed=config.seed,
                                mass_unit=1.0 if masses is None else masses.unit, charge_unit=charge_unit, log=log)
    reported, law_sets = None, network_sets  # learned masses in units of the reference particle's; graphs with them
    if masses is not None:
        reported = masses.in_reference_units()
        law_sets = [_with_masses(g, reported) for g in network_sets]
    if charges is not None:
        law_sets = [_with_charges(g, charges) for g in law_sets]
    refitted, law, reported, polished, test_law = read_out_law(config, softening, model, readout, law_sets, reported,
                                                               None if masses is None else masses.reference, log,
                                                               None if masses is None else masses.momentum_prior())
    return LawRead(readout, refitted, law, reported, polished, test_law, charges, charge_reference)


def read_out_law(config: DiscoverConfig, softening: float, model: ParticleGNN, readout: MessageReadout,
                 graph_sets: list[GraphSet], masses: np.ndarray | None, reference: tuple[int, int] | None, log,
                 momentum_prior: tuple[np.ndarray, np.ndarray] | None = None):
    """(refitted messages, law in the top-message order, masses, polish result, test graphs with
    those masses): the read-out's terms refitted, and where the masses were learned, alternately
    the law's numbers and the masses polished (`polish_law_and_masses`, held to `momentum_prior`)
    and the terms chosen again with the better masses, until the held-out error stops improving."""
    train_set, val_set, test_set = graph_sets
    polished = None
    rounds = POLISH_ROUNDS if masses is not None and config.messages_are_forces else 1
    for round_number in range(1, rounds + 1):
        if config.refit and config.messages_are_forces:
            log("refit: the read-out's terms by least squares, chosen on held-out graphs"
                + (f" (round {round_number} of at most {rounds})" if rounds > 1 else ""))
        refitted = refit_law(config, softening, readout, readout_graphs(model, train_set, REFIT_GRAPHS),
                             readout_graphs(model, val_set, REFIT_GRAPHS), model.edges)
        law = [single_axis_form(e, config.dim, softening)
               for e in ([r.expression for r in refitted] if refitted else readout.expressions)]
        if masses is None or not config.messages_are_forces:
            break
        log(f"polish: the law's numbers and every mass together (round {round_number} of at most {rounds})")
        attempt = polish_law_and_masses([law[readout.top.index(k)] for k in range(config.dim)], masses, reference,
                                        train_set, val_set, model.edges, softening, prior=momentum_prior)
        if not attempt.accepted:
            break
        settled = attempt.held_out_error_after > POLISH_SETTLED * attempt.held_out_error_before
        polished, masses = attempt, attempt.masses
        law = [attempt.law[k] for k in readout.top]
        train_set, val_set, test_set = (_with_masses(g, masses) for g in (train_set, val_set, test_set))
        readout.variables = message_variables(model, test_set.states)
        if settled:
            break
    return refitted, law, masses, polished, test_set


def refit_law(config: DiscoverConfig, softening: float, readout: MessageReadout, graphs: GraphSet, held_out: GraphSet,
              edges: EdgeList) -> list[RefittedMessage]:
    """The read-out's terms refitted on training graphs, chosen on held-out ones (only where
    message k is the force along axis k: `messages_are_forces`); an empty list when the run does not
    refit. Where the read-out holds steps in r (a switched model), its terms are refitted on both
    sides of a hard step too (`eqlearn.readout.switches`), and of the two laws of each message the
    shorter of equally good ones is kept (on single states only: the step search compares them
    with their accelerations, which weak-form windows do not hold)."""
    if not (config.refit and config.messages_are_forces):
        return []
    refitted = refit_messages(readout.formulas, graphs, held_out, edges, softening)  # in the order of readout.top
    if graphs.points != 1:
        return refitted
    # the step searched twice: on SEARCH_GRAPHS graphs with the network's terms, then with the
    # stepped law's own few terms on every graph. The network's many inexact powers bend the first
    # search's optimum, and its few graphs leave it anywhere between two pairs (1.999 for a step
    # at 2); a force that jumps there is then wrong on every pair in between
    law, stepped = readout.formulas, None
    for search_graphs in (SEARCH_GRAPHS, None):
        distance = best_step(law, graphs, held_out, edges, softening, search_graphs)
        if distance is None:
            break
        hard = {axis: hard_step_formula(formula, distance) for axis, formula in law.items()}
        found = refit_messages(hard, graphs, held_out, edges, softening, predicted=readout.formulas)
        stepped = found if stepped is None else [shorter_of_equals(first, second) for first, second in zip(stepped, found)]
        law = {m.axis: m.expression for m in stepped}
    if stepped is None:
        return refitted
    return [shorter_of_equals(smooth, step) for smooth, step in zip(refitted, stepped)]


def _with_masses(graphs: GraphSet, masses: np.ndarray) -> GraphSet:
    """The graphs with per-system masses [S, n] looked up by their system index."""
    return graphs.with_masses(_per_graph(graphs, masses))


def _with_charges(graphs: GraphSet, charges: np.ndarray) -> GraphSet:
    """The graphs with per-system charges [S, n] looked up by their system index."""
    return graphs.with_charges(_per_graph(graphs, charges))


def _per_graph(graphs: GraphSet, per_system: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(per_system, dtype=torch.float32)[graphs.system]
