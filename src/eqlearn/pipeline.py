"""Force-law discovery, end to end: config in, run directory out, as a short sequence of stages.

    prepare_run   load or simulate → the run's units → resolve the config (recipe + data) → run directory
    train_model   split → GNN (+ learnable masses) → training phases, checkpointed
    read_out      top messages → refit (and polish with learned masses) → canonical form → truth-free verdict
    judge         the law in the data's units → verifier (only where the data carry their law)
    write_discovery  equations.json, plots

Settings live in `eqlearn.config.DiscoverConfig`; the run directory stores the resolved one as
`config.json`, which `--config` reruns. docs/design.md describes the files a run writes.
"""
from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import sympy
import torch

from eqlearn import __version__
from eqlearn.config import CENTRAL_FORMS, DiscoverConfig, resolve_config
from eqlearn.devices import resolve_device
from eqlearn.errors import UserInputError
from eqlearn.gnn.edge_models import CentralEQLEdgeModel, EQLEdgeModel, logarithm_flags, mlp_edge_model
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.neighbours import NeighbourGraph, parse_graph
from eqlearn.gnn.node_models import MLPNodeModel, NewtonianNodeModel
from eqlearn.gnn.particles import LearnedCharges, LearnedMasses, choose_charge_signs, choose_reference, masses_from_momentum
from eqlearn.gnn.training import GraphObjective, GraphSet, evaluate, predict, relative_force_error_per_graph
from eqlearn.physics.dataset import atomic_output, load_dataset, split_by_simulation, write_text_atomically
from eqlearn.physics.potentials import get_potential, parse_potential
from eqlearn.physics.scales import DataUnits, choose_units
from eqlearn.physics.simulator import simulate
from eqlearn.physics.splits import MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION, split_by_time
from eqlearn.plots import plot_learned_masses, plot_loss_curves, plot_message_spread, plot_messages_vs_force
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
from eqlearn.readout.variables import DELTA, variable_names
from eqlearn.readout.variables import evaluate as evaluate_expression
from eqlearn.readout.verify import verify_law
from eqlearn.recipes import DataSpec, candidate_recipes
from eqlearn.sr import require_engine
from eqlearn.symbolic import to_latex, to_string
from eqlearn.train import Phase, TrainingDiverged, train
from eqlearn.verdict import truth_free_verdict

EQUATIONS_FORMAT = "eqlearn.equations/2"
#: Training graphs the refit of a read-out law uses (least squares over a handful of terms).
REFIT_GRAPHS = 2000
#: What `eqlearn discover` simulates when told nothing: the built-in default job.
DEFAULT_LAW = "spring"

#: Learned masses: rounds of refit and joint polish of the law's numbers and the masses (`read_out_law`).
POLISH_ROUNDS = 3
#: ... and stop once a round improves the held-out error by less than 1 %.
POLISH_SETTLED = 0.99

def refuse_nonempty(path: Path) -> None:
    """A run never overwrites: an existing `path` that holds files is an error."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserInputError(f"{path} already exists and is not empty; choose a new --out")


def prepare_output(path: Path) -> Path:
    """Create the run directory (and its parents, e.g. `runs/`); refuse one that already holds
    files, so nothing is overwritten."""
    refuse_nonempty(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"cannot create the run directory {path}: {error}") from None
    return path


@dataclass(frozen=True)
class Truth:
    """The law that made the data, when the data say so: used by the verifier and nothing else."""

    name: str
    potential: str
    damping: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def load_or_simulate(config: DiscoverConfig):
    """(trajectories, truth or None). Simulates `config.law` / `config.potential` (the spring when
    neither is given), or reads `config.data`, whose own arrays decide n, dim and the inputs."""
    if config.data is None:
        potential = get_potential(config.law or (None if config.potential else DEFAULT_LAW), config.potential)
        trajectories = simulate(potential, config.n, config.dim, config.sims, config.steps, seed=config.seed,
                                progress=config.progress, spread=config.spread, cutoff=config.cutoff)
        return trajectories, Truth(potential.name, potential.expression, potential.damping)
    trajectories = load_dataset(config.data)
    stored = trajectories.meta.get("potential")
    truth = None
    if stored is not None:
        parse_potential(str(stored))  # a file's potential is data: refused here, before any work, if it is not a formula
        truth = Truth(str(trajectories.meta.get("law", "custom")), str(stored),
                      float(trajectories.meta.get("damping", 0.0)))
    if config.law is not None or config.potential is not None:
        _check_agrees(config, truth)
    return trajectories, truth


def _check_agrees(config: DiscoverConfig, truth: Truth | None) -> None:
    """--law / --potential with --data only make sense as a statement about the file: check it."""
    asked = get_potential(config.law, config.potential)
    if truth is None:
        raise UserInputError(f"{config.data} stores no potential to check --law/--potential against; "
                             "leave them out (the law is what the run finds)")
    same = sympy.simplify(parse_potential(asked.expression) - parse_potential(truth.potential)) == 0
    if not same or asked.damping != truth.damping:
        raise UserInputError(f"{config.data} was made with U = {truth.potential}"
                             f"{f' and damping {truth.damping}' if truth.damping else ''}, not {asked.expression}")


def _interacting_pairs(graph: str, n: int) -> dict:
    """Which pairs the run's graph connects, as `choose_units` takes it."""
    graph = parse_graph(graph, n)
    if isinstance(graph, EdgeList):
        return {}
    return {"within": graph.size} if graph.kind == "radius" else {"nearest": min(int(graph.size), n - 1)}


def data_spec(trajectories) -> DataSpec:
    """What the data carry: the only description of the data a recipe sees."""
    _, _, n, dim = trajectories.positions.shape
    return DataSpec(n=n, dim=dim, velocities=trajectories.velocities is not None,
                    charges=trajectories.charges is not None, softening=trajectories.softening,
                    masses=trajectories.masses is not None,
                    states=int(np.prod(trajectories.positions.shape[:2])))


def build_model(config: DiscoverConfig, length_unit: float = 1.0) -> ParticleGNN:
    """The GNN of a resolved config (`resolve_config`), in a run whose unit of length is
    `length_unit` data units (a graph's radius is given in the data's)."""
    names = config.features
    features = FeatureBuilder(names, config.dim, config.softening or 0.0)
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
    edges = model.edges.for_positions(graphs.positions)
    velocities = None if graphs.velocities is None else graphs.velocities.double()
    context = edges.pair_context(graphs.positions.double(), graphs.masses.double(), graphs.charges.double(),
                                 velocities, softening)
    distances = context.message_variables()["r"]
    if edges.mask is not None:
        distances = distances[edges.mask]
    model.edge_model.place_switches(distances)


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


@dataclass
class Discovery:
    """What a run found: the top messages, their canonical form, the truth-free verdict and, where
    the data carry their law, the verifier's verdict."""

    config: DiscoverConfig
    truth: Truth | None
    messages: list[dict]
    canonical: list[str]
    nonzero_messages: int
    truth_free: dict
    verification: dict | None
    readout_verification: dict | None  # the verifier on the read-out as printed from the weights, before any refit
    test_loss: float
    seconds: dict
    particles: dict | None = None  # learned masses (reference = 1), with the true ones where the data say
    derivatives: dict | None = None  # how the accelerations were estimated from positions, and how well
    units: DataUnits = field(default_factory=DataUnits)  # the run's length and time units, in the data's
    restarts: list[dict] | None = None  # every initialisation, where the run had several (eqlearn.restarts)

    def equations(self) -> dict:
        c = self.config
        return {
            "format": EQUATIONS_FORMAT, "recipe": c.recipe, "data": c.data,
            "truth": self.truth.to_dict() if self.truth else None,
            "law": self.truth.name if self.truth else None, "potential": self.truth.potential if self.truth else None,
            "n": c.n, "dim": c.dim, "seed": c.seed, "softening": c.softening * self.units.length,
            "units": self.units.to_dict(), "graph": c.graph, "edge_model": c.edge_model,
            "node_model": c.node_model, "variables": variable_names(c.dim, FeatureBuilder.reads_velocities(c.features)),
            "messages": self.messages, "canonical": self.canonical, "nonzero_messages": self.nonzero_messages,
            "truth_free": self.truth_free, "verification": self.verification,
            "readout_verification": self.readout_verification, "test_loss": self.test_loss,
            "restarts": self.restarts, "particles": self.particles, "derivatives": self.derivatives,
            "seconds": self.seconds, "eqlearn_version": __version__,
        }


def refit_law(config: DiscoverConfig, readout: MessageReadout, graphs: GraphSet, held_out: GraphSet,
              edges: EdgeList) -> list[RefittedMessage]:
    """The read-out's terms refitted on training graphs, chosen on held-out ones (only where
    message k is the force along axis k: `messages_are_forces`); an empty list when the run does not refit."""
    if not (config.refit and config.messages_are_forces):
        return []
    return refit_messages(readout.formulas, graphs, held_out, edges, config.softening)  # in the order of readout.top


def training_graphs(train_set: GraphSet, config: DiscoverConfig) -> GraphSet:
    """At most `max_graphs` training graphs, a seeded random subset of longer data."""
    if len(train_set) <= config.max_graphs:
        return train_set
    pick = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(config.seed))[: config.max_graphs]
    return train_set.subset(pick.sort().values)


def split_data(trajectories, config: DiscoverConfig):
    """(train, validation, test) trajectories: by simulation, or by time blocks where the systems are
    few or their masses are learned (a learned mass can only be tested on its own system)."""
    if config.learn_masses or config.learn_charges or len(trajectories) < MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION:
        return split_by_time(trajectories)
    return split_by_simulation(trajectories, seed=config.seed)


def learned_masses_for(config: DiscoverConfig, train_data) -> LearnedMasses | None:
    """Learnable masses started from momentum conservation, or None when the run uses the data's."""
    if not config.learn_masses:
        return None
    initial, trusted = masses_from_momentum(train_data.accelerations)
    reference = choose_reference(initial, getattr(train_data, "names", None), config.reference_particle)
    # training unit: every system starts with the same geometric-mean mass (systems of like particles
    # then start at like scales, which training only has to adjust), and the heaviest particle of
    # the reference's system weighs 1. The run's time unit makes the median acceleration one, and in
    # a law that couples masses the heaviest partners dominate it, so the law's coefficient is then of
    # order one; in units of a typical mass, Newton's coefficient for the solar system is 1e-6
    # instead of 0.06, made of weights that pruning takes for noise. The report's unit, the
    # reference particle's mass, is applied after.
    initial = initial / np.exp(np.log(initial).mean(axis=1, keepdims=True))
    return LearnedMasses(initial / initial[reference[0]].max(), reference, trusted)


#: Initialisation k uses the seed `seed + RESTART_SEED_STRIDE * k` for weights and batch order.
RESTART_SEED_STRIDE = 7919


def run_discovery(config: DiscoverConfig, log=None, engine: str | None = None, workers: int | None = None,
                  loaded: tuple | None = None) -> Discovery:
    """The whole pipeline; writes the run directory `config.out` as it goes. A portfolio recipe or
    `config.restarts` > 1 trains several candidates and reports one (`eqlearn.restarts`); restarts
    run on `engine` with `workers`."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    if config.edge_model != "eql":
        require_engine()  # the read-out of an MLP edge model is a symbolic regression: fail before any work
    if config.restarts > 1 or len(candidate_recipes(config.recipe)) > 1:
        from eqlearn.restarts import run_with_restarts

        return run_with_restarts(config, log, engine, workers)
    run = prepare_run(config, loaded)
    trained = train_model(run, log)
    law = read_out(run, trained)
    return write_discovery(run, trained, law, judge(run, trained, law))


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


def prepare_run(config: DiscoverConfig, loaded: tuple | None = None) -> PreparedRun:
    """Load or simulate the data, choose the run's units, resolve the config from the recipe and the
    data, create the run directory and store the resolved config in it."""
    start = time.perf_counter()
    refuse_nonempty(Path(config.out))  # before any work; the directory itself is made once the data are good
    trajectories, truth = loaded or load_or_simulate(config)
    # the run works in units where the data (the pairs its graph connects) are of order one
    units = choose_units(trajectories, config.seed, **_interacting_pairs(config.graph, trajectories.positions.shape[2]))
    trajectories = units.apply(trajectories)
    if config.softening is not None:  # given in the data's units, like the data's own
        config = replace(config, softening=config.softening / units.length)
    config = resolve_config(config, data_spec(trajectories))
    clock = {"simulate" if config.data is None else "load": round(time.perf_counter() - start, 2)}
    out = prepare_output(Path(config.out))
    # stored in the data's units, so that --config reruns it whatever units the run chose
    write_text_atomically(out / "config.json", replace(config, softening=config.softening * units.length).to_json())
    return PreparedRun(config, trajectories, truth, units, out, clock)


def train_model(run: PreparedRun, log) -> TrainedRun:
    """Split the data, build the GNN (and learnable masses and charges) and train it, checkpointing each epoch."""
    config, out = run.config, run.out
    initialisation = config.seed + RESTART_SEED_STRIDE * config.restart
    torch.manual_seed(initialisation)
    splits = split_data(run.trajectories, config)
    masses = learned_masses_for(config, splits[0])
    charges = LearnedCharges(*splits[0].positions.shape[0:3:2], seed=initialisation) if config.learn_charges else None
    train_set, val_set, test_set = (GraphSet.from_trajectories(t) for t in splits)
    train_set = training_graphs(train_set, config)
    model = build_model(config, run.units.length)
    place_switches(model, train_set, config.softening)
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
        _append_csv(out / "metrics.csv", row)
        save_checkpoint()

    learning = f"; learning a mass per particle ({reference_name(masses, run.trajectories)} = 1)" if masses else ""
    learning += "; learning a charge per particle" if charges is not None else ""
    device = resolve_device(config.device)
    log(f"training GNN ({config.recipe} recipe: {config.edge_model} edges, {config.node_model} nodes) on "
        f"{len(train_set)} graphs on {device}; inputs {', '.join(config.features)}{learning}")
    start = time.perf_counter()
    trainable.to(device)
    train_on, val_on = train_set.to(device), val_set.to(device)
    try:
        history = train(trainable, objective, lambda: train_on.batches(config.batch_size, generator),
                        training_phases(config), validate=lambda: {"val_loss": evaluate(model, with_learned(val_on))},
                        on_epoch=on_epoch, progress=config.progress, undo_spoiling_prune=SPOILING_PRUNE)
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}; the last good checkpoint is in {out / 'checkpoint.pt'}") from None
    finally:
        trainable.cpu()  # read-out, refit and verdicts run on the CPU
    run.clock["train"] = round(time.perf_counter() - start, 2)
    for threshold in history.undone_prunes:
        log(f"pruning at {threshold:g} raised the loss more than {SPOILING_PRUNE:g}x: undone, no further pruning")
    if history.undone_prunes:
        save_checkpoint()  # the weights from before the undone round, not the last epoch's
    network_sets = [with_learned(g) for g in (train_set, val_set, test_set)]  # the masses the network trained with
    return TrainedRun(model, masses, splits, network_sets, charges)


def read_out(run: PreparedRun, trained: TrainedRun) -> ReadOutLaw:
    """The top messages, the law refitted (and polished with the masses, where they were learned),
    its canonical form and the truth-free verdict, all in the run's units."""
    config, model, masses, network_sets = run.config, trained.model, trained.masses, trained.network_sets
    start = time.perf_counter()
    charges, charge_reference, charge_unit = None, None, 1.0
    if trained.charges is not None:  # learned charges in units of the reference particle's (+1)
        charge_reference = choose_reference(np.abs(trained.charges.value.detach().numpy()),
                                            getattr(run.trajectories, "names", None), config.reference_particle)
        charges, charge_unit = (trained.charges.in_reference_units(charge_reference),
                                trained.charges.unit(charge_reference))
    readout = read_top_messages(model, network_sets[2], config.dim, sr_seed=config.seed,
                                mass_unit=1.0 if masses is None else masses.unit, charge_unit=charge_unit)
    reported, law_sets = None, network_sets  # learned masses in units of the reference particle's; graphs with them
    if masses is not None:
        reported = masses.in_reference_units()
        law_sets = [_with_masses(g, reported) for g in network_sets]
    if charges is not None:
        law_sets = [_with_charges(g, charges) for g in law_sets]
    refitted, law, reported, polished, test_law = read_out_law(config, model, readout, law_sets, reported,
                                                               None if masses is None else masses.reference)
    canonical = [drop_negligible_terms(c, readout.variables, NEGLIGIBLE_TERM)
                 for c in canonical_form(law, DELTA[: config.dim], values=readout.variables)]
    by_axis = [law[readout.top.index(k)] for k in range(config.dim)] if config.messages_are_forces else None
    truth_free = truth_free_verdict(by_axis, model, network_sets[2], trained.splits[2], config.softening, refitted,
                                    reported, law_set=test_law, particle_charges=charges)
    _write_plots(run.out, readout, law if config.messages_are_forces else None)
    run.clock["read_out"] = round(time.perf_counter() - start, 2)
    return ReadOutLaw(readout, refitted, law, canonical, reported, polished, truth_free, charges, charge_reference)


@dataclass
class Judged:
    """The law and read-out in the data's own units, and the verifier's verdicts on them (None
    where the data carry no law)."""

    law: list[sympy.Expr]
    canonical: list[sympy.Expr]
    readout: list[sympy.Expr]
    verification: dict | None
    readout_verification: dict | None


def judge(run: PreparedRun, trained: TrainedRun, found: ReadOutLaw) -> Judged:
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
        check = dict(damping=truth.damping, softening=config.softening * units.length)
        in_data_masses = lambda group: [e.xreplace(to_data_units) for e in group]
        verification = verify_law(in_data_masses(law), truth.potential, config.dim,
                                  canonical=in_data_masses(canonical), **check).to_dict()
        readout_verification = verify_law(in_data_masses(readout), truth.potential, config.dim, **check).to_dict()
    run.clock["read_out"] = round(run.clock.get("read_out", 0.0) + time.perf_counter() - start, 2)
    return Judged(law, canonical, readout, verification, readout_verification)


def write_discovery(run: PreparedRun, trained: TrainedRun, found: ReadOutLaw, judged: Judged) -> Discovery:
    """equations.json (atomically), the Pareto fronts of a symbolic-regression read-out and the mass
    plot; the `Discovery` they describe."""
    config, masses, out = run.config, trained.masses, run.out
    eps = config.softening * run.units.length
    messages = [{"index": i, "std": round(float(found.readout.stds[i]), 6), "expression": to_string(e),
                 "latex": to_latex(e)} for i, e in zip(found.readout.top, judged.readout)]
    for message, expression in zip(messages, judged.law):
        message["unit_vector_form"] = to_string(unit_vector_form(expression, dim=config.dim, softening=eps))
    for message, expression, refit in zip(messages, judged.law, found.refitted):
        message.update(refitted=to_string(expression), refitted_latex=to_latex(expression), refit_r2=round(refit.r2, 9))
    particles = None if masses is None else particle_table(found.masses, masses.reference, run.trajectories,
                                                             found.polished)
    if found.charges is not None:
        particles = {**(particles or {}), "charges": charge_table(found.charges, found.charge_reference, run.trajectories)}
    discovery = Discovery(config, run.truth, messages, [to_string(c) for c in judged.canonical], found.readout.live,
                          found.truth_free, judged.verification, judged.readout_verification,
                          round(evaluate(trained.model, trained.network_sets[2]), 6), run.clock, particles,
                          run.trajectories.meta.get("derivatives"), run.units)
    write_text_atomically(out / "equations.json", json.dumps(discovery.equations(), indent=2))
    write_pareto_fronts(out, found.readout)
    if particles is not None and "table" in particles:
        plot_learned_masses(particles["table"], out / "masses.png")
    return discovery


def read_out_law(config: DiscoverConfig, model: ParticleGNN, readout: MessageReadout, graph_sets: list[GraphSet],
                 masses: np.ndarray | None, reference: tuple[int, int] | None):
    """(refitted messages, law in the top-message order, masses, polish result, test graphs with
    those masses): the read-out's terms refitted, and where the masses were learned, alternately
    the law's numbers and the masses polished (`polish_law_and_masses`) and the terms chosen again
    with the better masses, until the held-out error stops improving."""
    train_set, val_set, test_set = graph_sets
    polished = None
    for _ in range(POLISH_ROUNDS if masses is not None else 1):
        refitted = refit_law(config, readout, readout_graphs(model, train_set, REFIT_GRAPHS),
                             readout_graphs(model, val_set, REFIT_GRAPHS), model.edges)
        law = [single_axis_form(e, config.dim, config.softening)
               for e in ([r.expression for r in refitted] if refitted else readout.expressions)]
        if masses is None or not config.messages_are_forces:
            break
        attempt = polish_law_and_masses([law[readout.top.index(k)] for k in range(config.dim)], masses, reference,
                                        train_set, val_set, model.edges, config.softening)
        if not attempt.accepted:
            break
        settled = attempt.held_out_error_after > POLISH_SETTLED * attempt.held_out_error_before
        polished, masses = attempt, attempt.masses
        law = [attempt.law[k] for k in readout.top]
        train_set, val_set, test_set = (_with_masses(g, masses) for g in (train_set, val_set, test_set))
        readout.variables = message_variables(model, test_set)
        if settled:
            break
    return refitted, law, masses, polished, test_set


def _with_masses(graphs: GraphSet, masses: np.ndarray) -> GraphSet:
    """The graphs with per-system masses [S, n] looked up by their system index."""
    return graphs.with_masses(_per_graph(graphs, masses))


def _with_charges(graphs: GraphSet, charges: np.ndarray) -> GraphSet:
    """The graphs with per-system charges [S, n] looked up by their system index."""
    return graphs.with_charges(_per_graph(graphs, charges))


def _per_graph(graphs: GraphSet, per_system: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(per_system, dtype=torch.float32)[graphs.system]


def _append_csv(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _write_plots(out: Path, readout: MessageReadout, law) -> None:
    """Loss curves, message spread and (where the messages are forces) each top message against
    the reported law on the same edges: a picture of how much of the network the law captures."""
    plot_loss_curves(out / "metrics.csv", out / "loss.png")
    plot_message_spread(readout.stds, out / "message_spread.png")
    if law is not None:
        law_values = np.column_stack([evaluate_expression(e, readout.variables) for e in law])  # law is in the top order
        plot_messages_vs_force(readout.values, law_values, out / "messages_vs_law.png")


