"""Force-law discovery, end to end: config in, run directory out.

simulate (or load) → train the particle GNN → read the top-d messages → refit their terms → canonical
form → verify.
The `DiscoverConfig` dataclass is the one source of defaults: the CLI fills it, the run directory
stores it as `config.json`, and `DiscoverConfig.from_json` reruns it.
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import sympy
import torch

from eqlearn import __version__
from eqlearn.canonical import canonical_form, drop_negligible_terms, single_axis_form, unit_vector_form
from eqlearn.errors import UserInputError
from eqlearn.gnn.edge_models import EQLEdgeModel, default_edge_units, logarithm_flags, mlp_edge_model, mlp_variant
from eqlearn.gnn.features import AXES, FeatureBuilder, default_features
from eqlearn.gnn.graph import EdgeList
from eqlearn.gnn.model import ParticleGNN
from eqlearn.gnn.node_models import MLPNodeModel, NewtonianNodeModel
from eqlearn.gnn.training import LIVE_MESSAGE_FRACTION, GraphObjective, GraphSet, evaluate, force_loss
from eqlearn.physics.dataset import load_dataset, split_by_simulation
from eqlearn.physics.potentials import get_potential
from eqlearn.physics.simulator import simulate
from eqlearn.plots import plot_loss_curves, plot_message_spread, plot_messages_vs_force
from eqlearn.refit import RefittedMessage, refit_messages
from eqlearn.sr import fit_symbolic, plot_pareto_front
from eqlearn.symbolic import to_latex, to_string
from eqlearn.train import Phase, TrainingDiverged, train
from eqlearn.verify import verify_law

EQUATIONS_FORMAT = "eqlearn.equations/1"
#: Terms that together change a message by less than this fraction of its RMS are not printed.
NEGLIGIBLE_TERM = 0.02
#: Epochs of the sparsity phase per law (power laws need more steps than the spring).
DEFAULT_EPOCHS = {"spring": 20}
FALLBACK_EPOCHS = 60
#: Training graphs the refit of a read-out law uses (least squares over a handful of terms).
REFIT_GRAPHS = 2000
#: newtonian: a_i = Σ messages / m_i (gnn.node_models); mlp: an MLP, as in Cranmer et al.
NODE_MODELS = ("newtonian", "mlp")


@dataclass
class DiscoverConfig:
    """Every setting of a discovery run; defaults are the measured recipe (see benchmarks/)."""

    law: str | None = "spring"
    potential: str | None = None
    n: int = 4
    dim: int = 2
    seed: int = 0
    data: str | None = None
    sims: int = 5000  # many short simulations: states within one trajectory are nearly the same sample
    steps: int = 4
    edge_model: str = "eql"
    node_model: str = "newtonian"  # or mlp, as in Cranmer et al. (NODE_MODELS)
    variant: str = "l1"  # mlp edges only: standard, l1, bottleneck or kl (gnn.edge_models.MLP_VARIANTS)
    features: list[str] | None = None
    messages: int = 100
    units: dict[str, int] | list[dict[str, int]] | None = None  # one layer's units for every layer, or one per layer
    depth: int = 2
    epochs: int | None = None  # per law: DEFAULT_EPOCHS
    batch_size: int = 256
    lr: float = 1e-2
    message_l1: float = 1e-2
    weight_penalty: float = 2e-4
    antisymmetric: bool | None = None  # Newton's third law in the messages; default: see __post_init__
    penalty: str = "l1"  # EQL weight sparsity: l1, l12 or l0
    loss: str | None = None  # net-force error (gnn.training.FORCE_LOSSES): relative behind newtonian nodes, else huber
    refit: bool = True  # messages that are forces: refit the read-out's terms by least squares (eqlearn.refit)
    prune_thresholds: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.05])
    out: str = "runs/discover"
    progress: bool = True

    def __post_init__(self):
        if self.antisymmetric is None:  # on, except in Cranmer et al.'s set-up (mlp edges and nodes)
            self.antisymmetric = self.edge_model == "eql" or self.node_model == "newtonian"
        if self.potential is not None:
            self.law = None
        if self.edge_model not in ("eql", "mlp"):
            raise UserInputError(f"unknown edge model {self.edge_model!r}; choose eql or mlp")
        mlp_variant(self.variant)
        if self.node_model not in NODE_MODELS:
            raise UserInputError(f"unknown node model {self.node_model!r}; choose one of {', '.join(NODE_MODELS)}")
        if self.loss is None:
            # the seed's MLP node model diverged at lr 1e-2 with the relative loss and did not learn at 1e-3
            self.loss = "relative" if self.node_model == "newtonian" else "huber"
        force_loss(self.loss)
        if self.dim not in (2, 3):
            raise UserInputError(f"dim = {self.dim}: only 2-D and 3-D systems are supported")
        if self.n < 2:
            raise UserInputError(f"n = {self.n}: a pair force needs at least 2 particles")
        if self.epochs is None:
            self.epochs = DEFAULT_EPOCHS.get(self.law, FALLBACK_EPOCHS)
        if self.epochs < 1 or self.batch_size < 1:
            raise UserInputError("epochs and batch size must be positive")

    @property
    def message_size(self) -> int:
        """d for EQL edges behind Newtonian nodes and for the bottleneck; otherwise `messages`
        (behind Newtonian nodes the force is then a learned linear map of them)."""
        if self.edge_model == "mlp":
            return self.dim if mlp_variant(self.variant).bottleneck else self.messages
        return self.dim if self.node_model == "newtonian" else self.messages

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
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "DiscoverConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})


def prepare_output(path: Path) -> Path:
    """Create the run directory (and its parents, e.g. `runs/`); refuse one that already holds
    files, so nothing is overwritten."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserInputError(f"{path} already exists and is not empty; choose a new --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"cannot create the run directory {path}: {error}") from None
    return path


def load_or_simulate(config: DiscoverConfig):
    potential = get_potential(config.law, config.potential)
    if config.data is None:
        trajectories = simulate(potential, config.n, config.dim, config.sims, config.steps, seed=config.seed,
                                progress=config.progress)
        return potential, trajectories
    trajectories = load_dataset(config.data)
    n, dim = trajectories.positions.shape[2:]
    if (n, dim) != (config.n, config.dim):
        raise UserInputError(f"{config.data} holds n={n}, dim={dim} systems but the run asks for "
                             f"n={config.n}, dim={config.dim}")
    stored = trajectories.meta.get("potential")
    potential = get_potential(expression=stored) if config.law is None and config.potential is None else potential
    return potential, trajectories


def build_model(config: DiscoverConfig, law_name: str) -> ParticleGNN:
    names = config.features or default_features(law_name, config.dim)
    features = FeatureBuilder(names, config.dim)
    size = config.message_size
    if config.edge_model == "eql":
        edge = EQLEdgeModel(len(names), size, units=config.units or default_edge_units(names), depth=config.depth,
                            log_inputs=logarithm_flags(names))
    else:
        edge = mlp_edge_model(config.variant, len(names), size)
    if config.node_model == "newtonian":
        node = NewtonianNodeModel(config.dim, size)
    else:
        node = MLPNodeModel(size, config.dim)
    return ParticleGNN(features, edge, node, EdgeList.complete(config.n), antisymmetric=config.antisymmetric)


def training_phases(config: DiscoverConfig) -> list[Phase]:
    """A sparsity phase, pruning rounds at rising thresholds, then fine-tuning without penalty."""
    if config.edge_model != "eql":
        return [Phase(config.epochs, config.lr * 0.1, 1.0, name="train")]
    *rounds, last = config.prune_thresholds or [None]
    short = max(1, config.epochs // 3)
    return [
        Phase(config.epochs, config.lr, 1.0, name="sparsify"),
        *[Phase(short, config.lr / 3, 1.0, prune_threshold=t, name=f"prune {t:g}") for t in rounds],
        Phase(short, config.lr / 10, 0.0, schedule="constant", prune_threshold=last, name="fine-tune"),
    ]


@dataclass
class Discovery:
    """What a run found: the top messages, their canonical form and the verifier's verdict."""

    config: DiscoverConfig
    potential_expression: str
    messages: list[dict]
    canonical: list[str]
    nonzero_messages: int
    verification: dict
    test_loss: float
    seconds: dict
    readout_verification: dict  # the verifier on the read-out as printed from the weights, before any refit

    def equations(self) -> dict:
        c = self.config
        return {
            "format": EQUATIONS_FORMAT, "law": c.law or "custom", "potential": self.potential_expression,
            "n": c.n, "dim": c.dim, "seed": c.seed, "edge_model": c.edge_model, "node_model": c.node_model,
            "variables": _variables(c.dim), "messages": self.messages, "canonical": self.canonical,
            "nonzero_messages": self.nonzero_messages, "verification": self.verification,
            "readout_verification": self.readout_verification, "test_loss": self.test_loss,
            "seconds": self.seconds, "eqlearn_version": __version__,
        }


def _variables(dim: int) -> list[str]:
    return [f"d{a}" for a in AXES[:dim]] + ["r", "m1", "m2", "q1", "q2"]


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
    part = graphs.subset(slice(0, limit))
    model.eval()  # variational messages: read their means
    with torch.no_grad():
        context = model.edges.pair_context(part.positions, part.masses, part.charges)
        messages = model.messages(part.positions, part.masses, part.charges).reshape(-1, model.edge_model.n_messages).numpy()
    variables = {k: v.reshape(-1).numpy().astype(float) for k, v in context.message_variables().items()}
    stds = messages.std(axis=0)
    top = [int(i) for i in np.argsort(-stds)[:dim]]
    live_stds = stds > LIVE_MESSAGE_FRACTION * stds.max()
    if hasattr(model.edge_model, "to_sympy"):
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


def refit_law(config: DiscoverConfig, readout: MessageReadout, graphs: GraphSet, edges: EdgeList) -> list[RefittedMessage]:
    """The read-out's terms refitted on training graphs (only where message k is the force along
    axis k: `messages_are_forces`); an empty list when the run does not refit."""
    if not (config.refit and config.messages_are_forces):
        return []
    return refit_messages(readout.formulas, graphs, edges)  # formulas are keyed in the order of readout.top


def run_discovery(config: DiscoverConfig, log=print) -> Discovery:
    """The whole pipeline; writes the run directory `config.out` as it goes."""
    out = prepare_output(Path(config.out))
    (out / "config.json").write_text(config.to_json())
    torch.manual_seed(config.seed)
    clock = {}
    start = time.perf_counter()
    potential, trajectories = load_or_simulate(config)
    clock["simulate"] = round(time.perf_counter() - start, 2)
    train_set, val_set, test_set = (GraphSet.from_trajectories(t) for t in split_by_simulation(trajectories, seed=config.seed))
    model = build_model(config, config.law or "custom")
    objective = GraphObjective(model, config.message_l1_weight, config.weight_penalty, config.penalty, config.loss)
    generator = torch.Generator().manual_seed(config.seed)
    metrics_path = out / "metrics.csv"

    def on_epoch(row: dict) -> None:
        _append_csv(metrics_path, row)
        torch.save({"state_dict": model.state_dict(), "config": asdict(config)}, out / "checkpoint.pt")

    log(f"training GNN ({config.edge_model} edges, {config.node_model} nodes) on {len(train_set)} graphs")
    start = time.perf_counter()
    try:
        train(model, objective, lambda: train_set.batches(config.batch_size, generator), training_phases(config),
              validate=lambda: {"val_loss": evaluate(model, val_set)}, on_epoch=on_epoch, progress=config.progress)
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}; the last good checkpoint is in {out / 'checkpoint.pt'}") from None
    clock["train"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    readout = read_top_messages(model, test_set, config.dim, sr_seed=config.seed)
    refitted = refit_law(config, readout, train_set.subset(slice(0, REFIT_GRAPHS)), model.edges)
    law = [single_axis_form(e, config.dim) for e in ([r.expression for r in refitted] if refitted else readout.expressions)]
    canonical = [drop_negligible_terms(c, readout.variables, NEGLIGIBLE_TERM)
                 for c in canonical_form(law, sympy.symbols("dx dy dz")[: config.dim], values=readout.variables)]
    verification = verify_law([to_string(e) for e in law], potential.expression, config.dim,
                              canonical=[to_string(c) for c in canonical])
    readout_verification = verify_law([to_string(e) for e in readout.expressions], potential.expression, config.dim)
    clock["read_out"] = round(time.perf_counter() - start, 2)
    messages = [{"index": i, "std": round(float(readout.stds[i]), 6), "expression": to_string(e), "latex": to_latex(e)}
                for i, e in zip(readout.top, readout.expressions)]
    for message, expression in zip(messages, law):
        message["unit_vector_form"] = to_string(unit_vector_form(expression, dim=config.dim))
    for message, expression, refit in zip(messages, law, refitted):
        message.update(refitted=to_string(expression), refitted_latex=to_latex(expression), refit_r2=round(refit.r2, 9))
    discovery = Discovery(config, potential.expression, messages, [to_string(c) for c in canonical], readout.live,
                          verification.to_dict(), round(evaluate(model, test_set), 6), clock,
                          readout_verification.to_dict())
    (out / "equations.json").write_text(json.dumps(discovery.equations(), indent=2))
    _write_plots(out, readout, potential)
    _write_pareto_fronts(out, readout)
    return discovery


def _append_csv(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _write_plots(out: Path, readout: MessageReadout, potential) -> None:
    v = readout.variables
    delta = np.column_stack([v[k] for k in ("dx", "dy", "dz") if k in v])
    force = np.asarray(potential.pair_force(delta, v["m1"], v["m2"], v["q1"], v["q2"]))
    plot_loss_curves(out / "metrics.csv", out / "loss.png")
    plot_message_spread(readout.stds, out / "message_spread.png")
    plot_messages_vs_force(readout.values, force, out / "messages_vs_force.png")


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
