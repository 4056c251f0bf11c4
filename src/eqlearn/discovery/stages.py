"""Force-law discovery for one candidate model: config in, run directory out, as a short sequence of
stages in the order they run.

    prepare_run      load or simulate → the run's units → resolve the config (recipe + data) → run directory
    train_model      split → GNN (+ learnable masses and charges) → training phases, checkpointed
    read_out         top messages → refit (and polish with learned masses) → canonical form → truth-free verdict
    judge            the law in the data's units → verifier (only where the data carry their law)
    write_discovery  equations.json, plots
    run_candidate    the five in a row

Several candidates (a portfolio recipe, restarts) are `eqlearn.discovery.portfolio`'s business: it
calls `run_candidate`, never the reverse. Settings live in `eqlearn.discovery.config.DiscoverConfig`;
docs/design.md describes the files a run writes.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sympy
import torch

from eqlearn.devices import resolve_device
from eqlearn.discovery.config import DiscoverConfig, resolve_config
from eqlearn.discovery.data import Truth, data_spec, interacting_pairs, load_or_simulate, split_data
from eqlearn.discovery.model import (
    RESTART_SEED_STRIDE,
    SIGN_SEARCH_GRAPHS,
    SIGN_SEARCH_PHASES,
    SPOILING_PRUNE,
    build_model,
    learned_masses_for,
    place_switches,
    training_phases,
)
from eqlearn.discovery.plots import plot_learned_masses, plot_loss_curves, plot_message_spread, plot_messages_vs_force
from eqlearn.discovery.result import Discovery, found_law, message_records
from eqlearn.discovery.rundir import append_csv_row, prepare_output, refuse_nonempty
from eqlearn.discovery.samples import batch_size, momentum_accelerations, run_samples, training_graphs, typical_acceleration
from eqlearn.discovery.verdict import truth_free_verdict
from eqlearn.eql.training import TrainingDiverged, train
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.particles import LearnedCharges, LearnedMasses, choose_charge_signs, choose_reference
from eqlearn.gnn.training import GraphObjective, GraphSet, evaluate, predict, relative_force_error_per_graph
from eqlearn.physics.scales import DataUnits, choose_units
from eqlearn.readout.canonical import canonical_form, drop_negligible_terms, single_axis_form, unit_vector_form
from eqlearn.readout.masses import charge_table, particle_table, reference_name, to_data_charge_units, to_data_mass_units
from eqlearn.readout.messages import (
    NEGLIGIBLE_TERM,
    MessageReadout,
    message_variables,
    read_top_messages,
    readout_graphs,
    write_pareto_fronts,
)
from eqlearn.readout.polish import polish_law_and_masses
from eqlearn.readout.refit import RefittedMessage, refit_messages
from eqlearn.readout.variables import evaluate as evaluate_expression
from eqlearn.readout.verify import verify_law
from eqlearn.symbolic import to_string
from eqlearn.vocabulary.files import atomic_output, write_text_atomically
from eqlearn.vocabulary.symbols import DELTA

#: Training graphs the refit of a read-out law uses (least squares over a handful of terms).
REFIT_GRAPHS = 2000


#: Learned masses: rounds of refit and joint polish of the law's numbers and the masses (`read_out_law`).
POLISH_ROUNDS = 3


#: ... and stop once a round improves the held-out error by less than 1 %.
POLISH_SETTLED = 0.99


@dataclass
class PreparedRun:
    """A run ready to train: its resolved config, the data in the run's units, the truth where the
    data carry it (for the verifier only), the run directory and the stage clock."""

    config: DiscoverConfig
    trajectories: object
    truth: Truth | None
    units: DataUnits
    out: Path
    clock: dict
    objective: dict | None = None  # what training compares with the data (`samples.run_samples`), once split

    @property
    def softening(self) -> float:
        """The data's softening in the run's units of length (the config keeps the data's units)."""
        return (self.config.softening or 0.0) / self.units.length


@dataclass
class TrainedRun:
    """The trained GNN, its learned masses (or None), the data split and its graphs with the masses
    the network trained with."""

    model: ParticleGNN
    masses: LearnedMasses | None
    splits: tuple
    network_sets: list[GraphSet]
    charges: LearnedCharges | None = None


@dataclass
class ReadOutLaw:
    """The law read from a trained model, in the run's units: the top messages, the refitted and
    polished law (top-message order), its canonical form, the masses it is written in, and the
    truth-free verdict."""

    readout: MessageReadout
    refitted: list[RefittedMessage]
    law: list[sympy.Expr]
    canonical: list[sympy.Expr]
    masses: np.ndarray | None
    polished: object
    truth_free: dict
    charges: np.ndarray | None = None  # learned charges, the reference particle's +1
    charge_reference: tuple[int, int] | None = None


@dataclass
class Judged:
    """The law and read-out in the data's own units, and the verifier's verdicts on them (None
    where the data carry no law)."""

    law: list[sympy.Expr]
    canonical: list[sympy.Expr]
    readout: list[sympy.Expr]
    verification: dict | None
    readout_verification: dict | None


def prepare_run(config: DiscoverConfig, loaded: tuple | None = None) -> PreparedRun:
    """Load or simulate the data, choose the run's units, resolve the config from the recipe and the
    data, create the run directory and store the resolved config in it."""
    start = time.perf_counter()
    refuse_nonempty(Path(config.out))  # before any work; the directory itself is made once the data are good
    trajectories, truth = loaded or load_or_simulate(config)
    config = resolve_config(config, data_spec(trajectories))  # in the data's units, as config.json stores it
    # the run works in units where the data (the pairs its graph connects) are of order one
    # learned masses have a unit of their own; on noisy positions the typical acceleration is the weak targets'
    units = choose_units(trajectories, config.seed, **interacting_pairs(config.graph, trajectories.positions.shape[2]),
                         mass_unit=not config.learn_masses, acceleration=typical_acceleration(config.objective, trajectories))
    clock = {"simulate" if config.data is None else "load": round(time.perf_counter() - start, 2)}
    out = prepare_output(Path(config.out))
    write_text_atomically(out / "config.json", config.to_json())
    return PreparedRun(config, units.apply(trajectories), truth, units, out, clock)


def train_model(run: PreparedRun, log) -> TrainedRun:
    """Split the data, build the GNN (and learnable masses and charges) and train it, checkpointing each epoch."""
    config, out = run.config, run.out
    initialisation = config.seed + RESTART_SEED_STRIDE * config.restart
    torch.manual_seed(initialisation)
    splits = split_data(run.trajectories, config)
    (train_set, val_set, test_set), run.objective = run_samples(config.objective, run.trajectories, splits, run.units)
    masses = learned_masses_for(config, splits[0], momentum_accelerations(train_set, splits[0]))
    charges = LearnedCharges(*splits[0].positions.shape[0:3:2], seed=initialisation) if config.learn_charges else None
    train_set = training_graphs(train_set, config)
    model = build_model(config, run.units.length)
    place_switches(model, train_set.states, run.softening)
    objective = GraphObjective(model, config.message_l1_weight, config.weight_penalty, config.penalty, config.loss,
                               learned_masses=masses, learned_charges=charges)
    learned = {name: module for name, module in (("masses", masses), ("charges", charges)) if module is not None}
    trainable = torch.nn.ModuleDict({"gnn": model, **learned}) if learned else model

    def with_learned(graphs: GraphSet) -> GraphSet:
        """The graphs with the masses and charges the network trains with."""
        if masses is not None:
            graphs = graphs.with_masses(masses(graphs.system).detach())
        return graphs if charges is None else graphs.with_charges(charges(graphs.system).detach())

    generator = torch.Generator().manual_seed(initialisation)

    def save_checkpoint() -> None:
        with atomic_output(out / "checkpoint.pt") as handle:  # a kill mid-write leaves the last good one
            torch.save({"state_dict": trainable.state_dict(), "config": asdict(config)}, handle)

    sign_graphs = train_set.spread(SIGN_SEARCH_GRAPHS)

    def charge_signs() -> int:
        """Each system's charge signs chosen again under the current law (`choose_charge_signs`)."""
        with_masses = sign_graphs if masses is None else sign_graphs.with_masses(masses(sign_graphs.system).detach())
        on = lambda q: with_masses.with_charges(q[with_masses.system])
        error = lambda q: relative_force_error_per_graph(predict(model, on(q)), on(q))
        return choose_charge_signs(charges, error, with_masses.system)

    def on_epoch(row: dict) -> None:
        if charges is not None and row["phase"] in SIGN_SEARCH_PHASES:
            row = {**row, "charge_signs_changed": charge_signs()}
        append_csv_row(out / "metrics.csv", row)
        save_checkpoint()

    learning = f"; learning a mass per particle ({reference_name(masses, run.trajectories)} = 1)" if masses else ""
    learning += "; learning a charge per particle" if charges is not None else ""
    device = resolve_device(config.device)
    log(f"training GNN ({config.recipe} recipe: {config.edge_model} edges, {config.node_model} nodes) on "
        f"{len(train_set)} {'graphs' if train_set.points == 1 else f'weak-form windows of {train_set.points} states'}"
        f" on {device}; inputs {', '.join(config.features)}{learning}")
    start = time.perf_counter()
    trainable.to(device)
    train_on, val_on = train_set.to(device), val_set.to(device)
    try:
        history = train(trainable, objective, lambda: train_on.batches(batch_size(train_on, config.batch_size), generator),
                        training_phases(config), validate=lambda: {"val_loss": evaluate(model, with_learned(val_on))},
                        on_epoch=on_epoch, progress=config.progress, undo_spoiling_prune=SPOILING_PRUNE)
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}; {_what_is_left(out)}") from None
    finally:
        trainable.cpu()  # read-out, refit and verdicts run on the CPU
    run.clock["train"] = round(time.perf_counter() - start, 2)
    for threshold in history.undone_prunes:
        log(f"pruning at {threshold:g} raised the loss more than {SPOILING_PRUNE:g}x: undone, no further pruning")
    if history.undone_prunes:
        save_checkpoint()  # the weights from before the undone round, not the last epoch's
    network_sets = [with_learned(g) for g in (train_set, val_set, test_set)]  # the masses the network trained with
    return TrainedRun(model, masses, splits, network_sets, charges)


def read_out(run: PreparedRun, trained: TrainedRun, log) -> ReadOutLaw:
    """The top messages, the law refitted (and polished with the masses, where they were learned),
    its canonical form and the truth-free verdict, all in the run's units; `log` says what each
    step is doing (a read-out can take minutes)."""
    config, model, masses, network_sets = run.config, trained.model, trained.masses, trained.network_sets
    start = time.perf_counter()
    charges, charge_reference, charge_unit = None, None, 1.0
    if trained.charges is not None:  # learned charges in units of the reference particle's (+1)
        charge_reference = choose_reference(np.abs(trained.charges.value.detach().numpy()),
                                            getattr(run.trajectories, "names", None), config.reference_particle)
        charges, charge_unit = (trained.charges.in_reference_units(charge_reference),
                                trained.charges.unit(charge_reference))
    readout = read_top_messages(model, network_sets[2].states, config.dim, sr_seed=config.seed,
                                mass_unit=1.0 if masses is None else masses.unit, charge_unit=charge_unit, log=log)
    reported, law_sets = None, network_sets  # learned masses in units of the reference particle's; graphs with them
    if masses is not None:
        reported = masses.in_reference_units()
        law_sets = [_with_masses(g, reported) for g in network_sets]
    if charges is not None:
        law_sets = [_with_charges(g, charges) for g in law_sets]
    refitted, law, reported, polished, test_law = read_out_law(run, model, readout, law_sets, reported,
                                                               None if masses is None else masses.reference, log)
    log("read-out: canonical form")
    canonical = [drop_negligible_terms(c, readout.variables, NEGLIGIBLE_TERM)
                 for c in canonical_form(law, DELTA[: config.dim], values=readout.variables)]
    by_axis = [law[readout.top.index(k)] for k in range(config.dim)] if config.messages_are_forces else None
    log(f"truth-free verdict: the law alone on {len(network_sets[2])} held-out graphs, next to the network")
    truth_free = truth_free_verdict(by_axis, model, network_sets[2], trained.splits[2], run.softening, refitted,
                                    reported, law_set=test_law, particle_charges=charges)
    _write_plots(run.out, readout, law if config.messages_are_forces else None)
    run.clock["read_out"] = round(time.perf_counter() - start, 2)
    return ReadOutLaw(readout, refitted, law, canonical, reported, polished, truth_free, charges, charge_reference)


def read_out_law(run: PreparedRun, model: ParticleGNN, readout: MessageReadout, graph_sets: list[GraphSet],
                 masses: np.ndarray | None, reference: tuple[int, int] | None, log):
    """(refitted messages, law in the top-message order, masses, polish result, test graphs with
    those masses): the read-out's terms refitted, and where the masses were learned, alternately
    the law's numbers and the masses polished (`polish_law_and_masses`) and the terms chosen again
    with the better masses, until the held-out error stops improving."""
    config, train_set, val_set, test_set = run.config, *graph_sets
    polished = None
    rounds = POLISH_ROUNDS if masses is not None and config.messages_are_forces else 1
    for round_number in range(1, rounds + 1):
        if run.config.refit and config.messages_are_forces:
            log("refit: the read-out's terms by least squares, chosen on held-out graphs"
                + (f" (round {round_number} of at most {rounds})" if rounds > 1 else ""))
        refitted = refit_law(run, readout, readout_graphs(model, train_set, REFIT_GRAPHS),
                             readout_graphs(model, val_set, REFIT_GRAPHS), model.edges)
        law = [single_axis_form(e, config.dim, run.softening)
               for e in ([r.expression for r in refitted] if refitted else readout.expressions)]
        if masses is None or not config.messages_are_forces:
            break
        log(f"polish: the law's numbers and every mass together (round {round_number} of at most {rounds})")
        attempt = polish_law_and_masses([law[readout.top.index(k)] for k in range(config.dim)], masses, reference,
                                        train_set, val_set, model.edges, run.softening)
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


def refit_law(run: PreparedRun, readout: MessageReadout, graphs: GraphSet, held_out: GraphSet,
              edges: EdgeList) -> list[RefittedMessage]:
    """The read-out's terms refitted on training graphs, chosen on held-out ones (only where
    message k is the force along axis k: `messages_are_forces`); an empty list when the run does not refit."""
    if not (run.config.refit and run.config.messages_are_forces):
        return []
    return refit_messages(readout.formulas, graphs, held_out, edges, run.softening)  # in the order of readout.top


def _with_masses(graphs: GraphSet, masses: np.ndarray) -> GraphSet:
    """The graphs with per-system masses [S, n] looked up by their system index."""
    return graphs.with_masses(_per_graph(graphs, masses))


def _with_charges(graphs: GraphSet, charges: np.ndarray) -> GraphSet:
    """The graphs with per-system charges [S, n] looked up by their system index."""
    return graphs.with_charges(_per_graph(graphs, charges))


def _per_graph(graphs: GraphSet, per_system: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(per_system, dtype=torch.float32)[graphs.system]


def _write_plots(out: Path, readout: MessageReadout, law) -> None:
    """Loss curves, message spread and (where the messages are forces) each top message against
    the reported law on the same edges: a picture of how much of the network the law captures."""
    plot_loss_curves(out / "metrics.csv", out / "loss.png")
    plot_message_spread(readout.stds, out / "message_spread.png")
    if law is not None:
        law_values = np.column_stack([evaluate_expression(e, readout.variables) for e in law])  # law is in the top order
        plot_messages_vs_force(readout.values, law_values, out / "messages_vs_law.png")


def judge(run: PreparedRun, trained: TrainedRun, found: ReadOutLaw, log) -> Judged:
    """The law written back in the data's units and, only where the data carry their law, verified
    against it (the one place the truth is used)."""
    config, units, truth = run.config, run.units, run.truth
    start = time.perf_counter()
    law, canonical, readout = ([units.to_data_units(e) for e in group]
                               for group in (found.law, found.canonical, found.readout.expressions))
    verification = readout_verification = None
    to_data_units = to_data_mass_units(trained.masses, run.trajectories) if truth is not None else None
    if to_data_units is not None and found.charges is not None:
        in_data_charges = to_data_charge_units(found.charge_reference, run.trajectories)
        to_data_units = None if in_data_charges is None else {**to_data_units, **in_data_charges}
    if to_data_units is not None:
        log(f"verifier: the law against the data's own ({truth.name})")
        check = dict(damping=truth.damping, softening=config.softening)
        in_data_masses = lambda group: [e.xreplace(to_data_units) for e in group]
        verification = verify_law(in_data_masses(law), truth.potential, config.dim,
                                  canonical=in_data_masses(canonical), **check).to_dict()
        readout_verification = verify_law(in_data_masses(readout), truth.potential, config.dim, **check).to_dict()
    run.clock["read_out"] = round(run.clock.get("read_out", 0.0) + time.perf_counter() - start, 2)
    return Judged(law, canonical, readout, verification, readout_verification)


def write_discovery(run: PreparedRun, trained: TrainedRun, found: ReadOutLaw, judged: Judged, log) -> Discovery:
    """equations.json (atomically), the Pareto fronts of a symbolic-regression read-out and the mass
    plot; the `Discovery` they describe."""
    config, masses, out = run.config, trained.masses, run.out
    log("writing the law with the unit vector u = Δ/|Δ|")
    forms = [unit_vector_form(e, dim=config.dim, softening=config.softening) for e in judged.law]
    messages = message_records(found.readout.top, found.readout.stds, judged.readout, judged.law, forms,
                               [refit.r2 for refit in found.refitted], config)
    particles = None if masses is None else particle_table(found.masses, masses.reference, run.trajectories,
                                                             found.polished)
    if found.charges is not None:
        particles = {**(particles or {}), "charges": charge_table(found.charges, found.charge_reference, run.trajectories)}
    discovery = Discovery(config, run.truth, messages, [to_string(c) for c in judged.canonical], found.readout.live,
                          found.truth_free, judged.verification, judged.readout_verification,
                          round(evaluate(trained.model, trained.network_sets[2]), 6), run.clock, particles,
                          run.trajectories.meta.get("derivatives"), run.units,
                          found=found_law(messages, forms, found.truth_free, config), objective=run.objective)
    write_text_atomically(out / "equations.json", json.dumps(discovery.equations(), indent=2))
    write_pareto_fronts(out, found.readout)
    if particles is not None and "table" in particles:
        plot_learned_masses(particles["table"], out / "masses.png")
    return discovery


def _what_is_left(out: Path) -> str:
    """The files a failed run left in `out`, named only where they exist."""
    left = sorted(p.name for p in out.iterdir() if p.is_file()) if out.is_dir() else []
    checkpoint = "the last good checkpoint is checkpoint.pt; " if "checkpoint.pt" in left else \
        "no epoch finished, so there is no checkpoint; "
    return checkpoint + (f"{out} holds {', '.join(left)}" if left else f"{out} is empty")


def run_candidate(config: DiscoverConfig, log, loaded: tuple | None = None) -> Discovery:
    """One candidate model, every stage in a row; writes the run directory `config.out` as it goes.
    `loaded` is the (trajectories, truth) a portfolio already read, so its candidates share them."""
    run = prepare_run(config, loaded)
    trained = train_model(run, log)
    law = read_out(run, trained, log)
    return write_discovery(run, trained, law, judge(run, trained, law, log), log)
