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
from eqlearn.discovery.data import Truth, data_spec, interacting_pairs, load_or_simulate
from eqlearn.discovery.early_stop import ExactLawStop
from eqlearn.discovery.law_reading import LawRead, read_law
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
from eqlearn.discovery.result import EQUATIONS_FILE, Discovery, found_law, is_complete, message_records
from eqlearn.discovery.rundir import (
    CHECKPOINT,
    append_csv_row,
    check_same_settings,
    load_checkpoint,
    prepare_output,
    refuse_nonempty,
)
from eqlearn.discovery.samples import batch_size, momentum_estimate, run_samples, training_graphs, typical_acceleration
from eqlearn.discovery.verdict import truth_free_verdict
from eqlearn.eql.training import TrainingDiverged, train
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.particles import LearnedCharges, LearnedMasses, choose_charge_signs
from eqlearn.gnn.training import GraphObjective, GraphSet, evaluate, predict, relative_force_error_per_graph
from eqlearn.physics.scales import DataUnits, choose_units
from eqlearn.readout.canonical import canonical_form, drop_negligible_terms, unit_vector_form
from eqlearn.readout.masses import charge_table, particle_table, reference_name, to_data_charge_units, to_data_mass_units
from eqlearn.readout.messages import (
    NEGLIGIBLE_TERM,
    MessageReadout,
    write_pareto_fronts,
)
from eqlearn.readout.refit import RefittedMessage
from eqlearn.readout.variables import evaluate as evaluate_expression
from eqlearn.readout.verify import verify_law
from eqlearn.symbolic import to_string
from eqlearn.vocabulary.files import atomic_output, write_text_atomically
from eqlearn.vocabulary.symbols import DELTA


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
    found: LawRead | None = None  # the law, where the early stop read it already


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


def prepare_run(config: DiscoverConfig, loaded: tuple | None = None, resume: bool = False) -> PreparedRun:
    """Load or simulate the data, choose the run's units, resolve the config from the recipe and the
    data, create the run directory and store the resolved config in it. With `resume`, the
    directory may hold a run killed midway, made with the same settings."""
    start = time.perf_counter()
    if not resume:
        refuse_nonempty(Path(config.out))  # before any work; the directory itself is made once the data are good
    trajectories, truth = loaded or load_or_simulate(config)
    config = resolve_config(config, data_spec(trajectories))  # in the data's units, as config.json stores it
    # the run works in units where the data (the pairs its graph connects) are of order one
    # learned masses have a unit of their own; on noisy positions the typical acceleration is the weak targets'
    units = choose_units(trajectories, config.seed, **interacting_pairs(config.graph, trajectories.positions.shape[2]),
                         mass_unit=not config.learn_masses, acceleration=typical_acceleration(config.objective, trajectories))
    clock = {"simulate" if config.data is None else "load": round(time.perf_counter() - start, 2)}
    out = Path(config.out)
    if resume and (out / "config.json").is_file():
        check_same_settings(out, config)
    else:
        out = prepare_output(out)
        write_text_atomically(out / "config.json", config.to_json())
    return PreparedRun(config, units.apply(trajectories), truth, units, out, clock)


def train_model(run: PreparedRun, log, resume: bool = False) -> TrainedRun:
    """Split the data, build the GNN (and learnable masses and charges) and train it, checkpointing
    each epoch; with `resume`, from the run directory's last checkpoint. Where the law read from
    the network is exact on held-out data, training stops there (`early_stop.ExactLawStop`)."""
    config, out = run.config, run.out
    initialisation = config.seed + RESTART_SEED_STRIDE * config.restart
    torch.manual_seed(initialisation)
    splits, (train_set, val_set, test_set), run.objective = run_samples(config, run.trajectories, run.units)
    masses = learned_masses_for(config, splits[0], momentum_estimate(train_set, splits[0]) if config.learn_masses else None)
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

    def save_checkpoint(loop_state: dict) -> None:
        with atomic_output(out / CHECKPOINT) as handle:  # a kill mid-write leaves the last good one
            torch.save({"state_dict": trainable.state_dict(), "config": asdict(config), "training": loop_state,
                        "generator": generator.get_state(), "torch_rng": torch.get_rng_state()}, handle)

    saved = load_checkpoint(out / CHECKPOINT, trainable, generator) if resume else None
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

    learning = f"; learning a mass per particle ({reference_name(masses, run.trajectories)} = 1)" if masses else ""
    learning += "; learning a charge per particle" if charges is not None else ""
    device = resolve_device(config.device)
    done = f"; continuing after epoch {len(saved['rows'])}" if saved is not None else ""
    log(f"training GNN ({config.recipe} recipe: {config.edge_model} edges, {config.node_model} nodes) on "
        f"{len(train_set)} {'graphs' if train_set.points == 1 else f'weak-form windows of {train_set.points} states'}"
        f" on {device}; inputs {', '.join(config.features)}{learning}{done}")
    start = time.perf_counter()
    trainable.to(device)
    train_on, val_on = train_set.to(device), val_set.to(device)
    stop = exact_law_stop(run, model, [train_set, val_set, test_set]) if not learned else None
    try:
        history = train(trainable, objective, lambda: train_on.batches(batch_size(train_on, config.batch_size), generator),
                        training_phases(config), validate=lambda: {"val_loss": evaluate(model, with_learned(val_on))},
                        on_epoch=on_epoch, progress=config.progress, undo_spoiling_prune=SPOILING_PRUNE,
                        stop=stop, checkpoint=save_checkpoint, resume=saved)
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}; {_what_is_left(out)}") from None
    finally:
        trainable.cpu()  # read-out, refit and verdicts run on the CPU
    run.clock["train"] = round(time.perf_counter() - start, 2)
    for threshold in history.undone_prunes:
        log(f"pruning at {threshold:g} raised the loss more than {SPOILING_PRUNE:g}x: undone, no further pruning")
    network_sets = [with_learned(g) for g in (train_set, val_set, test_set)]  # the masses the network trained with
    if stop is not None and saved is not None and saved["stopped"] and stop.found is None:
        stop.check()  # stopped before a kill: the same check on the same weights reads the same law
    found = None if stop is None else stop.found
    if found is not None:
        log(f"the law is exact on held-out data after epoch {len(history.rows)}: training stops there")
    return TrainedRun(model, masses, splits, network_sets, charges, found)


def exact_law_stop(run: PreparedRun, model: ParticleGNN, graph_sets: list[GraphSet]) -> ExactLawStop | None:
    """The early stop of a run whose messages are forces refitted as a law of their own (None for
    others, and on weak-form windows: the check compares single states with their accelerations)."""
    config = run.config
    if not (config.refit and config.messages_are_forces and config.prune_thresholds) or graph_sets[0].points > 1:
        return None
    return ExactLawStop(model, config.prune_thresholds[-1], graph_sets[1], run.softening,
                        lambda pruned: _law_by_axis(run, read_law(config, run.softening, _names(run), pruned, graph_sets)))


def _names(run: PreparedRun):
    return getattr(run.trajectories, "names", None)


def _law_by_axis(run: PreparedRun, found: LawRead) -> tuple[list, LawRead]:
    return [found.law[found.readout.top.index(k)] for k in range(run.config.dim)], found


def read_out(run: PreparedRun, trained: TrainedRun, log) -> ReadOutLaw:
    """The law (read when training stopped early, else now), its canonical form and the
    truth-free verdict, all in the run's units; `log` says what each step is doing (a read-out
    can take minutes)."""
    config, model, network_sets = run.config, trained.model, trained.network_sets
    start = time.perf_counter()
    found = trained.found or read_law(config, run.softening, _names(run), model, network_sets, trained.masses,
                                      trained.charges, log)
    readout, law = found.readout, found.law
    log("read-out: canonical form")
    canonical = [drop_negligible_terms(c, readout.variables, NEGLIGIBLE_TERM)
                 for c in canonical_form(law, DELTA[: config.dim], values=readout.variables)]
    by_axis = [law[readout.top.index(k)] for k in range(config.dim)] if config.messages_are_forces else None
    log(f"truth-free verdict: the law alone on {len(network_sets[2])} held-out graphs, next to the network")
    truth_free = truth_free_verdict(by_axis, model, network_sets[2], trained.splits[2], run.softening, found.refitted,
                                    found.masses, law_set=found.test_set, particle_charges=found.charges)
    _write_plots(run.out, readout, law if config.messages_are_forces else None)
    run.clock["read_out"] = round(time.perf_counter() - start, 2)
    return ReadOutLaw(readout, found.refitted, law, canonical, found.masses, found.polished, truth_free, found.charges,
                      found.charge_reference)


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
    """The Pareto fronts of a symbolic-regression read-out, the mass plot and, last and atomically,
    equations.json, whose presence says the run is complete; the `Discovery` they describe."""
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
    write_pareto_fronts(out, found.readout)
    if particles is not None and "table" in particles:
        plot_learned_masses(particles["table"], out / "masses.png")
    write_text_atomically(out / EQUATIONS_FILE, json.dumps(discovery.equations(), indent=2))  # last: the run is complete
    return discovery


def _what_is_left(out: Path) -> str:
    """The files a failed run left in `out`, named only where they exist."""
    left = sorted(p.name for p in out.iterdir() if p.is_file()) if out.is_dir() else []
    checkpoint = "the last good checkpoint is checkpoint.pt; " if "checkpoint.pt" in left else \
        "no epoch finished, so there is no checkpoint; "
    return checkpoint + (f"{out} holds {', '.join(left)}" if left else f"{out} is empty")


def run_candidate(config: DiscoverConfig, log, loaded: tuple | None = None, resume: bool = False) -> Discovery:
    """One candidate model, every stage in a row; writes the run directory `config.out` as it goes.
    `loaded` is the (trajectories, truth) a portfolio already read, so its candidates share them.
    With `resume`, a complete directory is read back as it is, and one killed midway continues
    from its last checkpoint."""
    if resume and is_complete(config.out):
        return Discovery.from_directory(config.out)
    run = prepare_run(config, loaded, resume)
    trained = train_model(run, log, resume)
    law = read_out(run, trained, log)
    return write_discovery(run, trained, law, judge(run, trained, law, log), log)
