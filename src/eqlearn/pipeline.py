"""Force-law discovery, end to end: config in, run directory out.

load or simulate → resolve the recipe from what the data carry → train the particle GNN → read the
top-d messages → refit their terms (held-out selection) → canonical form → truth-free verdict →
verifier (only where the data carry their law).
The `DiscoverConfig` dataclass is the one source of settings: the CLI fills it, `resolve_config`
fills what it leaves open from the recipe, the run directory stores the resolved config as
`config.json`, and `DiscoverConfig.from_json` reruns it.
"""
from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import sympy
import torch

from eqlearn import __version__
from eqlearn.devices import resolve_device
from eqlearn.errors import UserInputError
from eqlearn.gnn.edge_models import (
    CentralEQLEdgeModel,
    EQLEdgeModel,
    ReadableEdgeModel,
    default_edge_units,
    logarithm_flags,
    mlp_edge_model,
    mlp_variant,
)
from eqlearn.gnn.features import FeatureBuilder
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.node_models import MLPNodeModel, NewtonianNodeModel
from eqlearn.gnn.particles import LearnedMasses, choose_reference, masses_from_momentum
from eqlearn.gnn.training import LIVE_MESSAGE_FRACTION, GraphObjective, GraphSet, evaluate, force_loss
from eqlearn.physics.dataset import atomic_output, load_dataset, split_by_simulation
from eqlearn.physics.potentials import get_potential
from eqlearn.physics.scales import DataUnits, choose_units
from eqlearn.physics.simulator import simulate
from eqlearn.physics.splits import MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION, split_by_time
from eqlearn.plots import plot_learned_masses, plot_loss_curves, plot_message_spread, plot_messages_vs_force
from eqlearn.readout.canonical import canonical_form, drop_negligible_terms, single_axis_form, unit_vector_form
from eqlearn.readout.law import PairLaw, formula_size, relative_force_error
from eqlearn.readout.polish import polish_law_and_masses
from eqlearn.readout.refit import RefittedMessage, refit_messages
from eqlearn.readout.variables import DELTA, variable_names
from eqlearn.readout.variables import evaluate as evaluate_expression
from eqlearn.readout.variables import m1 as sym_m1
from eqlearn.readout.variables import m2 as sym_m2
from eqlearn.readout.verify import verify_law
from eqlearn.recipes import DEFAULT_RECIPE, DataSpec, get_recipe
from eqlearn.sr import fit_symbolic, plot_pareto_front
from eqlearn.symbolic import to_latex, to_string
from eqlearn.train import Phase, TrainingDiverged, train

EQUATIONS_FORMAT = "eqlearn.equations/2"
CONFIG_FORMAT = "eqlearn.config/1"
#: Terms that together change a message by less than this fraction of its RMS are not printed.
NEGLIGIBLE_TERM = 0.02
#: Training graphs the refit of a read-out law uses (least squares over a handful of terms).
REFIT_GRAPHS = 2000
#: newtonian: a_i = Σ messages / m_i (gnn.node_models); mlp: an MLP, as in Cranmer et al.
NODE_MODELS = ("newtonian", "mlp")
EDGE_MODELS = ("eql", "mlp")
#: What `eqlearn discover` simulates when told nothing: the built-in default job.
DEFAULT_LAW = "spring"
#: Stored trajectories at least this long also get the law's rollout error (truth-free verdict).
ROLLOUT_MIN_STEPS = 10
ROLLOUT_SYSTEMS = 64
#: A network whose relative net-force error is above this has not fitted the data: no law read
#: from it can be trusted, whatever the law's own error.
NETWORK_FITS = 0.05
#: The law explains the data as well as the network when its error is at most this factor times
#: the network's (plus a floor for float32 rounding of the stored data).
AS_GOOD_AS_NETWORK = 1.1
ERROR_FLOOR = 1e-4

#: Learned masses: rounds of refit and joint polish of the law's numbers and the masses (`read_out_law`).
POLISH_ROUNDS = 3
#: ... and stop once a round improves the held-out error by less than 1 %.
POLISH_SETTLED = 0.99

#: Fields a recipe fills when the config leaves them at None.
RECIPE_FIELDS = ("features", "eql_form", "units", "depth", "epochs", "lr", "message_l1", "weight_penalty",
                 "penalty", "node_model", "messages", "prune_thresholds")


@dataclass
class DiscoverConfig:
    """Every setting of a discovery run. None means "the recipe's choice" (`resolve_config`).

    `law` / `potential` only say what to simulate; with `data` they must agree with the file.
    """

    law: str | None = None
    potential: str | None = None
    data: str | None = None
    n: int = 4
    dim: int = 2
    seed: int = 0
    sims: int = 5000  # many short simulations: states within one trajectory are nearly the same sample
    steps: int = 4
    recipe: str = DEFAULT_RECIPE
    edge_model: str = "eql"
    eql_form: str | None = None  # central or free (the recipe's)
    node_model: str | None = None  # newtonian or mlp (NODE_MODELS)
    variant: str = "l1"  # mlp edges only: standard, l1, bottleneck or kl (gnn.edge_models.MLP_VARIANTS)
    features: list[str] | None = None
    messages: int | None = None
    units: dict[str, int] | list[dict[str, int]] | None = None  # one layer's units for every layer, or one per layer
    depth: int | None = None
    epochs: int | None = None
    batch_size: int = 256
    max_graphs: int = 20000  # training graphs at most (a random subset of longer data)
    lr: float | None = None
    message_l1: float | None = None
    weight_penalty: float | None = None
    antisymmetric: bool | None = None  # Newton's third law in the messages; on except for mlp edges and nodes
    penalty: str | None = None  # EQL weight sparsity: l1, l12 or l0
    loss: str | None = None  # net-force error (gnn.training.FORCE_LOSSES): relative behind newtonian nodes, else huber
    refit: bool = True  # messages that are forces: refit the read-out's terms by least squares (eqlearn.readout.refit)
    prune_thresholds: list[float] | None = None
    softening: float | None = None  # the data's ε in r = |Δ| + ε (from the data)
    learn_masses: bool | None = None  # learn a mass per particle (gnn.particles); None: when the data carry none
    reference_particle: str | None = None  # learned masses: the particle (name or index) whose mass is 1
    restarts: int = 1  # initialisations trained side by side; the law is chosen without the truth (eqlearn.restarts)
    restart: int = 0  # which initialisation this run is (model weights and batch order)
    device: str = "auto"  # where training runs: auto (cuda where visible), cpu or cuda (eqlearn.devices)
    out: str = "runs/discover"
    progress: bool = True

    def __post_init__(self):
        get_recipe(self.recipe)
        if self.edge_model not in EDGE_MODELS:
            raise UserInputError(f"unknown edge model {self.edge_model!r}; choose eql or mlp")
        mlp_variant(self.variant)
        if self.node_model is not None and self.node_model not in NODE_MODELS:
            raise UserInputError(f"unknown node model {self.node_model!r}; choose one of {', '.join(NODE_MODELS)}")
        if self.eql_form is not None and self.eql_form not in ("central", "free"):
            raise UserInputError(f"unknown EQL form {self.eql_form!r}; choose central or free")
        if self.loss is not None:
            force_loss(self.loss)
        if self.law is not None and self.potential is not None:
            raise UserInputError("give a law name or a potential, not both")
        if self.dim not in (2, 3):
            raise UserInputError(f"dim = {self.dim}: only 2-D and 3-D systems are supported")
        if self.n < 2:
            raise UserInputError(f"n = {self.n}: a pair force needs at least 2 particles")
        if (self.epochs is not None and self.epochs < 1) or self.batch_size < 1 or self.max_graphs < 1:
            raise UserInputError("epochs, batch size and max graphs must be positive")
        resolve_device(self.device)
        if self.restarts < 1 or self.restart < 0:
            raise UserInputError("restarts must be at least 1")

    @property
    def message_size(self) -> int:
        """d for EQL edges behind Newtonian nodes and for the bottleneck; otherwise `messages`
        (behind Newtonian nodes the force is then a learned linear map of them)."""
        if self.edge_model == "mlp":
            return self.dim if mlp_variant(self.variant).bottleneck else self.messages
        return self.dim if self.node_model == "newtonian" or self.eql_form == "central" else self.messages

    @property
    def messages_are_forces(self) -> bool:
        """Message k is the force along axis k: the read-out is a law of its own (refit, law-alone tests)."""
        return self.node_model == "newtonian" and self.message_size == self.dim

    @property
    def message_l1_weight(self) -> float:
        """The L1 on messages applies when there are more messages than dimensions, to mlp edges
        only in the l1 variant."""
        wanted = self.edge_model == "eql" or mlp_variant(self.variant).message_l1
        return self.message_l1 if self.message_size > self.dim and wanted else 0.0

    def to_json(self) -> str:
        return json.dumps({"format": CONFIG_FORMAT, **asdict(self)}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "DiscoverConfig":
        """The config a run directory's config.json (or a file written by hand) holds; unknown keys
        and another format are errors, not silently dropped."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserInputError(f"the config is not valid JSON: {error}") from None
        if not isinstance(values, dict):
            raise UserInputError("a config file holds one JSON object of settings")
        stated = values.pop("format", CONFIG_FORMAT)
        if stated != CONFIG_FORMAT:
            raise UserInputError(f"config format {stated!r} is not {CONFIG_FORMAT!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserInputError(f"unknown config key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)


def resolve_config(config: DiscoverConfig, spec: DataSpec) -> DiscoverConfig:
    """The config with every open setting filled from its recipe and the data; nothing else.

    Pure: the same config and data description always give the same resolved config, and the
    law being looked for is not an input.
    """
    recipe = get_recipe(config.recipe)
    chosen = {name: getattr(config, name) for name in RECIPE_FIELDS}
    defaults = {name: getattr(recipe, name) for name in RECIPE_FIELDS}
    defaults.update(features=recipe.features(spec), prune_thresholds=list(recipe.prune_thresholds))
    filled = {name: defaults[name] if value is None else value for name, value in chosen.items()}
    if filled["units"] is None and filled["eql_form"] == "free":
        filled["units"] = default_edge_units(filled["features"])
    if config.edge_model == "mlp":
        filled["eql_form"] = "free"
    resolved = replace(config, n=spec.n, dim=spec.dim, softening=spec.softening, **filled)
    if resolved.antisymmetric is None:  # on, except in Cranmer et al.'s set-up (mlp edges and nodes)
        resolved.antisymmetric = resolved.edge_model == "eql" or resolved.node_model == "newtonian"
    if resolved.loss is None:
        # the seed's MLP node model diverged at lr 1e-2 with the relative loss and did not learn at 1e-3
        resolved.loss = "relative" if resolved.node_model == "newtonian" else "huber"
    return resolved


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
                                progress=config.progress)
        return trajectories, Truth(potential.name, potential.expression, potential.damping)
    trajectories = load_dataset(config.data)
    stored = trajectories.meta.get("potential")
    truth = None
    if stored is not None:
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
    same = sympy.simplify(sympy.sympify(asked.expression) - sympy.sympify(truth.potential)) == 0
    if not same or asked.damping != truth.damping:
        raise UserInputError(f"{config.data} was made with U = {truth.potential}"
                             f"{f' and damping {truth.damping}' if truth.damping else ''}, not {asked.expression}")


def data_spec(trajectories) -> DataSpec:
    """What the data carry: the only description of the data a recipe sees."""
    _, _, n, dim = trajectories.positions.shape
    return DataSpec(n=n, dim=dim, velocities=trajectories.velocities is not None,
                    charges=trajectories.charges is not None, softening=trajectories.softening)


def build_model(config: DiscoverConfig) -> ParticleGNN:
    """The GNN of a resolved config (`resolve_config`)."""
    names = config.features
    features = FeatureBuilder(names, config.dim, config.softening or 0.0)
    size = config.message_size
    if config.edge_model == "mlp":
        edge = mlp_edge_model(config.variant, len(names), size)
    elif config.eql_form == "central":
        edge = CentralEQLEdgeModel(names, config.dim, units=config.units, depth=config.depth)
    else:
        edge = EQLEdgeModel(len(names), size, units=config.units, depth=config.depth, log_inputs=logarithm_flags(names))
    if config.node_model == "newtonian":
        node = NewtonianNodeModel(config.dim, size)
    else:
        node = MLPNodeModel(size, config.dim)
    return ParticleGNN(features, edge, node, EdgeList.complete(config.n), antisymmetric=config.antisymmetric)


def training_phases(config: DiscoverConfig) -> list[Phase]:
    """A sparsity phase, pruning rounds at rising thresholds, then fine-tuning without penalty.

    Learned masses first stay at their momentum estimate while the law takes shape: trained from
    the start, a system whose forces the first, random law overshoots shrinks its masses to where
    its error no longer depends on them, and stays there.
    """
    law_first = [Phase(max(1, config.epochs // 2), config.lr, 1.0, name="law first", frozen=("masses",))] \
        if config.learn_masses else []
    if config.edge_model != "eql":
        return [*law_first, Phase(config.epochs, config.lr * 0.1, 1.0, name="train")]
    *rounds, last = config.prune_thresholds or [None]
    short = max(1, config.epochs // 3)
    return [
        *law_first,
        Phase(config.epochs, config.lr, 1.0, name="sparsify"),
        *[Phase(short, config.lr / 3, 1.0, prune_threshold=t, name=f"prune {t:g}") for t in rounds],
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
            "units": self.units.to_dict(), "edge_model": c.edge_model,
            "node_model": c.node_model, "variables": variable_names(c.dim, FeatureBuilder.reads_velocities(c.features)),
            "messages": self.messages, "canonical": self.canonical, "nonzero_messages": self.nonzero_messages,
            "truth_free": self.truth_free, "verification": self.verification,
            "readout_verification": self.readout_verification, "test_loss": self.test_loss,
            "restarts": self.restarts, "particles": self.particles, "derivatives": self.derivatives,
            "seconds": self.seconds, "eqlearn_version": __version__,
        }


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


def read_top_messages(model: ParticleGNN, graphs: GraphSet, dim: int, sr_seed: int = 0, limit: int = 2048) -> MessageReadout:
    """Rank messages by std, keep the top `dim`, and write them as formulas.

    An EQL edge model is read straight from its weights; any other edge model gets a symbolic
    regression fitted to its top messages (the baseline route).
    """
    part = graphs.spread(limit)
    model.eval()  # variational messages: read their means
    with torch.no_grad():
        messages = model.messages(*part.inputs).reshape(-1, model.edge_model.n_messages).numpy()
    variables = _message_variables(model, part)
    stds = messages.std(axis=0)
    top = [int(i) for i in np.argsort(-stds)[:dim]]
    live_stds = stds > LIVE_MESSAGE_FRACTION * stds.max()
    if isinstance(model.edge_model, ReadableEdgeModel):
        formulas = model.message_expressions()
        live = sum(1 for e, on in zip(formulas, live_stds) if on and e != 0)
        full = {i: formulas[i] for i in top}
        expressions = [drop_negligible_terms(full[i], variables, NEGLIGIBLE_TERM) for i in top]
        fits = []
    else:
        live = int(live_stds.sum())
        names = sorted(variables)
        table = np.column_stack([variables[k] for k in names])
        fits = [fit_symbolic(table, messages[:, i], names, random_state=sr_seed) for i in top]
        expressions = [fit.expression for fit in fits]
        full = dict(zip(top, expressions))
    return MessageReadout(top, expressions, stds, messages[:, top], variables, live, full, fits)


def refit_law(config: DiscoverConfig, readout: MessageReadout, graphs: GraphSet, held_out: GraphSet,
              edges: EdgeList) -> list[RefittedMessage]:
    """The read-out's terms refitted on training graphs, chosen on held-out ones (only where
    message k is the force along axis k: `messages_are_forces`); an empty list when the run does not refit."""
    if not (config.refit and config.messages_are_forces):
        return []
    return refit_messages(readout.formulas, graphs, held_out, edges, config.softening)  # in the order of readout.top


def truth_free_verdict(law: list[sympy.Expr] | None, model: ParticleGNN, test_set: GraphSet, trajectories,
                       config: DiscoverConfig, refitted: list[RefittedMessage], particle_masses: np.ndarray | None = None,
                       law_set: GraphSet | None = None) -> dict:
    """How well the law alone explains held-out systems, next to the trained network (no truth used).

    Net forces on the held-out graphs: relative error of the law and of the network. Where the
    data hold trajectories (≥ ROLLOUT_MIN_STEPS stored steps with times and velocities), also the
    law integrated from held-out initial states over the stored horizon. Where the run learned the
    masses, the law is written in `particle_masses` [S, n] (reference = 1) and `law_set` holds the
    test graphs with them, while `test_set` has the network's own.
    """
    with torch.no_grad():
        predicted = model(*test_set.inputs)[0].double().numpy()
    masses = test_set.masses.double().numpy()[..., None]
    target = test_set.accelerations.double().numpy() * masses
    network_error = relative_force_error(predicted * masses, target)
    verdict = {"held_out_graphs": len(test_set), "network_force_error": network_error,
               "network_fits_data": bool(network_error <= NETWORK_FITS)}
    if law is None:
        verdict.update(law_force_error=None, explains_data=None,
                       note="the messages are not forces (node model or message size), so the law is no model alone")
        return verdict
    law_set = test_set if law_set is None else law_set
    pair_law = PairLaw(law, model.edges, config.softening)
    law_forces = pair_law.net_forces(*law_set.inputs)
    law_target = law_set.accelerations.double().numpy() * law_set.masses.double().numpy()[..., None]
    verdict["law_force_error"] = relative_force_error(law_forces, law_target)
    verdict["law_size"] = formula_size(law)
    verdict["explains_data"] = bool(verdict["law_force_error"] <= AS_GOOD_AS_NETWORK * verdict["network_force_error"]
                                    + ERROR_FLOOR)
    verdict["rollout"] = _rollout_error(pair_law, trajectories, particle_masses)
    verdict["candidates"] = [{"axis": m.axis, "front": m.candidates} for m in refitted]
    return verdict


def _rollout_error(pair_law: PairLaw, trajectories, masses: np.ndarray | None = None) -> dict | None:
    """The law integrated from the first stored state of held-out systems over their stored times:
    position error relative to each system's spread, at the last stored time."""
    t = trajectories
    if t.times is None or t.velocities is None or t.positions.shape[1] < ROLLOUT_MIN_STEPS:
        return None
    x, v = t.positions[:ROLLOUT_SYSTEMS].astype(float), t.velocities[:ROLLOUT_SYSTEMS].astype(float)
    masses = (t.masses if masses is None else masses)[:ROLLOUT_SYSTEMS].astype(float)
    charges = np.zeros_like(masses) if t.charges is None else t.charges[:ROLLOUT_SYSTEMS].astype(float)
    times = np.broadcast_to(np.asarray(t.times, dtype=float), t.positions.shape[:2])[: len(x)]
    if np.allclose(times, times[:1]):  # one clock for all systems: integrate them together
        predicted = pair_law.rollout(x[:, 0], v[:, 0], masses, charges, times[0])
    else:
        predicted = np.concatenate([pair_law.rollout(x[s:s + 1, 0], v[s:s + 1, 0], masses[s:s + 1], charges[s:s + 1], times[s])
                                    for s in range(len(x))])
    spread = np.sqrt(((x - x.mean(axis=2, keepdims=True)) ** 2).sum(-1).mean(axis=(1, 2)))
    error = np.sqrt(((predicted[:, -1] - x[:, -1]) ** 2).sum(-1).mean(-1)) / spread
    return {"systems": len(x), "horizon": float(np.max(times[:, -1] - times[:, 0])), "steps": int(times.shape[1]),
            "median_position_error": float(np.nanmedian(error)), "max_position_error": float(np.nanmax(error))}


def training_graphs(train_set: GraphSet, config: DiscoverConfig) -> GraphSet:
    """At most `max_graphs` training graphs, a seeded random subset of longer data."""
    if len(train_set) <= config.max_graphs:
        return train_set
    pick = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(config.seed))[: config.max_graphs]
    return train_set.subset(pick.sort().values)


def split_data(trajectories, config: DiscoverConfig):
    """(train, validation, test) trajectories: by simulation, or by time blocks where the systems are
    few or their masses are learned (a learned mass can only be tested on its own system)."""
    if config.learn_masses or len(trajectories) < MIN_SYSTEMS_TO_SPLIT_BY_SIMULATION:
        return split_by_time(trajectories)
    return split_by_simulation(trajectories, seed=config.seed)


def learned_masses_for(config: DiscoverConfig, train_data) -> LearnedMasses | None:
    """Learnable masses started from momentum conservation, or None when the run uses the data's."""
    if not config.learn_masses:
        return None
    initial, trusted = masses_from_momentum(train_data.accelerations)
    reference = choose_reference(initial, getattr(train_data, "names", None), config.reference_particle)
    # training unit: each system's geometric-mean mass is 1, so typical forces are of order one even
    # where the masses span decades (the report's unit, the reference particle's mass, is applied after)
    initial = initial / np.exp(np.log(initial).mean(axis=1, keepdims=True))
    return LearnedMasses(initial, reference, trusted)


#: Initialisation k uses the seed `seed + RESTART_SEED_STRIDE * k` for weights and batch order.
RESTART_SEED_STRIDE = 7919


def run_discovery(config: DiscoverConfig, log=None, engine: str | None = None, workers: int | None = None) -> Discovery:
    """The whole pipeline; writes the run directory `config.out` as it goes. With `config.restarts`
    > 1 the initialisations run on `engine` with `workers` (`eqlearn.restarts`)."""
    log = log or logging.getLogger(__name__).info  # a library logs; the CLI passes print
    if config.restarts > 1:
        from eqlearn.restarts import run_with_restarts

        return run_with_restarts(config, log, engine, workers)
    clock = {}
    start = time.perf_counter()
    refuse_nonempty(Path(config.out))  # before any work; the directory itself is made once the data are good
    trajectories, truth = load_or_simulate(config)
    units = choose_units(trajectories, config.seed)  # the run works in units where the data are of order one
    trajectories = units.apply(trajectories)
    config = resolve_config(config, data_spec(trajectories))
    if config.learn_masses is None:
        config.learn_masses = trajectories.masses is None
    clock["simulate" if config.data is None else "load"] = round(time.perf_counter() - start, 2)
    out = prepare_output(Path(config.out))
    (out / "config.json").write_text(config.to_json())
    initialisation = config.seed + RESTART_SEED_STRIDE * config.restart
    torch.manual_seed(initialisation)
    splits = split_data(trajectories, config)
    masses = learned_masses_for(config, splits[0])
    train_set, val_set, test_set = (GraphSet.from_trajectories(t) for t in splits)
    train_set = training_graphs(train_set, config)
    model = build_model(config)
    objective = GraphObjective(model, config.message_l1_weight, config.weight_penalty, config.penalty, config.loss,
                               learned_masses=masses)
    trainable = model if masses is None else torch.nn.ModuleDict({"gnn": model, "masses": masses})
    with_learned = lambda g: g if masses is None else g.with_masses(masses(g.system).detach())
    generator = torch.Generator().manual_seed(initialisation)
    metrics_path = out / "metrics.csv"

    def on_epoch(row: dict) -> None:
        _append_csv(metrics_path, row)
        with atomic_output(out / "checkpoint.pt") as handle:  # a kill mid-write leaves the last good one
            torch.save({"state_dict": trainable.state_dict(), "config": asdict(config)}, handle)

    learning = f"; learning a mass per particle ({_reference_name(masses, trajectories)} = 1)" if masses else ""
    device = resolve_device(config.device)
    log(f"training GNN ({config.recipe} recipe: {config.edge_model} edges, {config.node_model} nodes) on "
        f"{len(train_set)} graphs on {device}; inputs {', '.join(config.features)}{learning}")
    start = time.perf_counter()
    trainable.to(device)
    train_on, val_on = train_set.to(device), val_set.to(device)
    try:
        train(trainable, objective, lambda: train_on.batches(config.batch_size, generator), training_phases(config),
              validate=lambda: {"val_loss": evaluate(model, with_learned(val_on))}, on_epoch=on_epoch,
              progress=config.progress)
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}; the last good checkpoint is in {out / 'checkpoint.pt'}") from None
    finally:
        trainable.cpu()  # read-out, refit and verdicts run on the CPU
    clock["train"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    network_sets = [with_learned(g) for g in (train_set, val_set, test_set)]  # the masses the network trained with
    readout = read_top_messages(model, network_sets[2], config.dim, sr_seed=config.seed)
    reported, law_sets = None, network_sets  # learned masses in units of the reference particle's; graphs with them
    if masses is not None:
        reported = masses.in_reference_units()
        law_sets = [_with_masses(g, reported) for g in network_sets]
        _to_reference_unit(readout, masses.unit, _message_variables(model, law_sets[2]))
    refitted, law, reported, polished, test_law = read_out_law(config, model, readout, law_sets, reported,
                                                               None if masses is None else masses.reference)
    canonical = [drop_negligible_terms(c, readout.variables, NEGLIGIBLE_TERM)
                 for c in canonical_form(law, DELTA[: config.dim], values=readout.variables)]
    by_axis = [law[readout.top.index(k)] for k in range(config.dim)] if config.messages_are_forces else None
    truth_free = truth_free_verdict(by_axis, model, network_sets[2], splits[2], config, refitted, reported, law_set=test_law)
    _write_plots(out, readout, law if config.messages_are_forces else None)
    # from here on, the law in the data's own units
    eps = config.softening * units.length
    law, canonical = ([units.to_data_units(e) for e in group] for group in (law, canonical))
    readout.expressions = [units.to_data_units(e) for e in readout.expressions]
    verification = readout_verification = None
    particles = None if masses is None else particle_table(reported, masses.reference, trajectories, polished)
    if truth is not None:
        to_data_units = _to_data_units(masses, trajectories)
        check = dict(damping=truth.damping, softening=eps)
        if to_data_units is not None:
            verification = verify_law([to_string(e.xreplace(to_data_units)) for e in law], truth.potential, config.dim,
                                      canonical=[to_string(c.xreplace(to_data_units)) for c in canonical], **check).to_dict()
            readout_verification = verify_law([to_string(e.xreplace(to_data_units)) for e in readout.expressions],
                                              truth.potential, config.dim, **check).to_dict()
    clock["read_out"] = round(time.perf_counter() - start, 2)
    messages = [{"index": i, "std": round(float(readout.stds[i]), 6), "expression": to_string(e), "latex": to_latex(e)}
                for i, e in zip(readout.top, readout.expressions)]
    for message, expression in zip(messages, law):
        message["unit_vector_form"] = to_string(unit_vector_form(expression, dim=config.dim, softening=eps))
    for message, expression, refit in zip(messages, law, refitted):
        message.update(refitted=to_string(expression), refitted_latex=to_latex(expression), refit_r2=round(refit.r2, 9))
    discovery = Discovery(config, truth, messages, [to_string(c) for c in canonical], readout.live, truth_free,
                          verification, readout_verification, round(evaluate(model, network_sets[2]), 6), clock, particles,
                          trajectories.meta.get("derivatives"), units)
    with atomic_output(out / "equations.json") as handle:
        handle.write(json.dumps(discovery.equations(), indent=2).encode())
    _write_pareto_fronts(out, readout)
    if particles is not None:
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
        refitted = refit_law(config, readout, train_set.spread(REFIT_GRAPHS), val_set.spread(REFIT_GRAPHS),
                             model.edges)
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
        readout.variables = _message_variables(model, test_set)
        if settled:
            break
    return refitted, law, masses, polished, test_set


def _with_masses(graphs: GraphSet, masses: np.ndarray) -> GraphSet:
    """The graphs with per-system masses [S, n] looked up by their system index."""
    return graphs.with_masses(torch.as_tensor(masses, dtype=torch.float32)[graphs.system])


def _to_reference_unit(readout: MessageReadout, unit: float, variables: dict[str, np.ndarray]) -> None:
    """Rewrite the read-out, read in the training unit of mass, in units of the reference particle's
    mass (m → unit · m), with the message variables of the same edges in that unit."""
    scale = {sym_m1: unit * sym_m1, sym_m2: unit * sym_m2}
    rewrite = lambda e: sympy.expand(sympy.expand_power_base(e.xreplace(scale), force=True))
    readout.expressions = [rewrite(e) for e in readout.expressions]
    readout.formulas = {k: rewrite(e) for k, e in readout.formulas.items()}
    readout.variables = variables


def _message_variables(model: ParticleGNN, graphs: GraphSet, limit: int = 2048) -> dict[str, np.ndarray]:
    """The message variables on the read-out's edges (`read_top_messages`, and again after the
    masses they use changed)."""
    part = graphs.spread(limit)
    with torch.no_grad():
        context = model.pair_context(*part.inputs)
    return {k: v.reshape(-1).numpy().astype(float) for k, v in context.message_variables().items()}


def _particle_names(trajectories) -> list[str]:
    names = getattr(trajectories, "names", None)
    n = trajectories.positions.shape[2]
    return [str(x) for x in names] if names is not None else [str(i) for i in range(n)]


def _reference_name(masses: LearnedMasses, trajectories) -> str:
    system, particle = masses.reference
    return f"particle {_particle_names(trajectories)[particle]} of system {system}"


def _true_masses(trajectories) -> np.ndarray | None:
    """[S, n] masses to judge learned ones by: the file's own, or its meta's `reference_masses`
    (name → mass, e.g. JPL's for the solar system); None when the data hold neither."""
    if trajectories.masses is not None:
        return np.asarray(trajectories.masses, dtype=float)
    reference = trajectories.meta.get("reference_masses")
    names = _particle_names(trajectories)
    if isinstance(reference, dict) and all(name in reference for name in names):
        return np.tile([float(reference[name]) for name in names], (len(trajectories), 1))
    return None


def _to_data_units(masses: LearnedMasses | None, trajectories) -> dict | None:
    """The substitution that writes a law in learned masses (reference = 1) in the data's own mass
    units (used only to judge against a stored law); {} when the masses were not learned, None
    when the data carry no masses to convert with."""
    if masses is None:
        return {}
    true = _true_masses(trajectories)
    if true is None:
        return None
    scale = true[masses.reference]
    return {sym_m1: sym_m1 / scale, sym_m2: sym_m2 / scale}


def particle_table(learned: np.ndarray, reference: tuple[int, int], trajectories, polished) -> dict:
    """`particles` of equations.json: every particle's learned mass (in units of the `reference`
    particle's) and, where the data say, the true one in the same unit and their ratio."""
    true = _true_masses(trajectories)
    names = _particle_names(trajectories)
    table = []
    for s in range(learned.shape[0]):
        for i, name in enumerate(names):
            row = {"system": s, "name": name, "learned_mass": float(learned[s, i])}
            if true is not None:
                row["true_mass"] = float(true[s, i] / true[reference])
                row["ratio"] = row["learned_mass"] / row["true_mass"]
            table.append(row)
    summary = {"reference": {"system": reference[0], "name": names[reference[1]]},
               "unit": "the reference particle's mass", "table": table,
               "polished": None if polished is None else {
                   "accepted": polished.accepted, "held_out_error_before": polished.held_out_error_before,
                   "held_out_error_after": polished.held_out_error_after}}
    if true is not None:
        deviation = np.abs(np.array([row["ratio"] for row in table]) - 1)
        summary.update(median_relative_error=float(np.median(deviation)), max_relative_error=float(deviation.max()))
    return summary


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


def _write_pareto_fronts(out: Path, readout: MessageReadout) -> None:
    """The SR trade-off behind each top message (baseline route): pareto_fronts.json and one PNG per message."""
    if not readout.fits:
        return
    fronts = []
    for rank, (index, fit) in enumerate(zip(readout.top, readout.fits), start=1):
        plot_pareto_front(fit, out / f"pareto_message_{rank}.png", f"message {index} (top {rank})")
        fronts.append({"index": index, "engine": fit.engine, "r2": round(fit.r2, 6), "chosen": to_string(fit.expression),
                       "front": [{"complexity": c, "loss": loss, "expression": to_string(e)}
                                 for c, loss, e in fit.pareto_front]})
    (out / "pareto_fronts.json").write_text(json.dumps(fronts, indent=2))
