"""The settings of a discovery run: one typed dataclass, in sections, the single source of defaults.

Every field belongs to one section — data, model, training, readout or run — declared with the
field itself (`setting`). The same object is what the Python API takes, what the CLI builds (one
flag per field, grouped by section, generated from the declarations below), what a run directory
stores as `config.json` (one JSON object per section, with a format version) and what
`--config FILE` reads back. None means "the recipe's choice": `resolve_config` fills every open
field from the recipe and the data, in one pure function that never sees the law.

Torch-free, like everything it imports at the top: the command line builds its flags from these
declarations and checks a config before anything heavy is loaded.
"""
from __future__ import annotations

import json
import math
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from types import NoneType

from eqlearn.devices import check_device_name
from eqlearn.discovery.recipes import DEFAULT_RECIPE, DataSpec, get_recipe
from eqlearn.eql.catalog import PENALTY_NAMES
from eqlearn.errors import UserInputError
from eqlearn.gnn.catalog import FORCE_LOSS_NAMES, MLP_VARIANTS, check_force_loss, mlp_variant, read_graph

CONFIG_FORMAT = "eqlearn.config/2"
#: The flat, unsectioned form of earlier run directories; still read.
FLAT_CONFIG_FORMAT = "eqlearn.config/1"
SECTIONS = ("data", "model", "training", "readout", "run")
#: newtonian: a_i = Σ messages / m_i (gnn.node_models); mlp: an MLP, as in Cranmer et al.
NODE_MODELS = ("newtonian", "mlp")
EDGE_MODELS = ("eql", "mlp")
EQL_FORMS = ("central", "screened", "switched", "free")
#: The forms whose message is Σ EQL(scalars) × vector (`CentralEQLEdgeModel`).
CENTRAL_FORMS = ("central", "screened", "switched")
#: What training compares with the data: accelerations (stored, or estimated from positions), or
#: weak-form targets read from the positions without differentiating them (`physics.weak_form`);
#: auto chooses from the data (`choose_objective`).
OBJECTIVES = ("auto", "accelerations", "weak")
#: auto: positions-only data whose accelerations are estimated with a relative error above this
#: train on weak-form targets (measured: a spring at σ = 1e-4, estimated error 0.04, exact on
#: weak-form targets, one seed in two on estimated accelerations; noise-free DE421, 1.4e-4, and
#: springs at σ ≤ 1e-5, ≤ 0.005, keep the acceleration path).
WEAK_FORM_ABOVE = 0.01
#: Fields a recipe fills when the config leaves them at None.
#: What `eqlearn discover` simulates when told nothing: the built-in default job.
DEFAULT_LAW = "spring"
RECIPE_FIELDS = ("features", "eql_form", "units", "depth", "epochs", "lr", "message_l1", "weight_penalty",
                 "penalty", "node_model", "messages", "prune_thresholds")


def setting(section: str, default, help: str, **flag):
    """A config field: its section, the help text of its CLI flag, and any flag options
    (`choices`, `flag` for a name other than --field-name)."""
    assert section in SECTIONS, section
    metadata = {"section": section, "help": help, **flag}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class DiscoverConfig:
    """Every setting of a discovery run. None means "the recipe's choice" (`resolve_config`).

    `law` / `potential` only say what to simulate; with `data` they must agree with the file.
    """

    # data: what the run learns from
    law: str | None = setting("data", None, f"a built-in law to simulate: {DEFAULT_LAW} (the default without --data), r1, "
                                            "r2, charge, damped, discontinuous; with --data only a check of the file")
    potential: str | None = setting("data", None, 'a pair potential in r, m1, m2, q1, q2 to simulate, e.g. '
                                                  '"(r - 1)**2" or "-m1*m2/r"', metavar="EXPR")
    data: str | None = setting("data", None, "an .npz or long-form .csv data file: positions plus accelerations or "
                                             "times (optionally velocities, masses, charges, names, softening); the "
                                             "law is then found from the data alone, and missing masses are learned",
                               metavar="FILE")
    n: int = setting("data", 4, "particles per simulated system")
    dim: int = setting("data", 2, "2 or 3, simulated systems")
    sims: int = setting("data", 5000, "systems to simulate (many short ones: states of one trajectory are "
                                      "nearly the same sample)")
    steps: int = setting("data", 4, "states per simulated system")
    spread: float = setting("data", 1.0, "simulated systems: standard deviation of the initial positions (raise it "
                                         "with n to keep the density, e.g. 8 for n = 256 in 2-D)")
    cutoff: float | None = setting("data", None, "simulated systems: pairs farther apart than this do not interact "
                                                 "(a potential truncated at |Δ| = cutoff)")
    max_graphs: int = setting("data", 20000, "training graphs at most (a random subset of longer data)")
    softening: float | None = setting("data", None, "the ε of r = |Δ| + ε the data's distances were computed "
                                                    "with (default: the data's own, 0 when they state none)")
    # model: what is trained
    recipe: str = setting("model", DEFAULT_RECIPE, "how the model is built and trained (list below)",
                          choices="recipes")
    edge_model: str = setting("model", "eql", "eql, or mlp: the baseline of Cranmer et al., read out by "
                                              "symbolic regression", choices=EDGE_MODELS)
    eql_form: str | None = setting("model", None, "central: message = Σ EQL(scalars) × (u, dv); screened: the same "
                                                  "with e^(kr) factors; switched: the same with steps σ(a r + b); "
                                                  "free: any EQL of all inputs",
                                   choices=EQL_FORMS)
    node_model: str | None = setting("model", None, "newtonian: a = Σ messages / m; mlp: a learned update, as in "
                                                    "Cranmer et al.", choices=NODE_MODELS)
    variant: str = setting("model", "l1", "mlp edge models: how the messages are made readable",
                           choices=tuple(MLP_VARIANTS))
    features: list[str] | None = setting("model", None, "comma-separated edge inputs, e.g. ux,uy,r,log_r,m1,m2")
    messages: int | None = setting("model", None, "message size, except for EQL edges behind newtonian nodes and "
                                                  "the bottleneck")
    units: dict[str, int] | list[dict[str, int]] | None = setting(
        "model", None, 'EQL units as JSON: one layer\'s for every layer, e.g. {"identity": 4, "product": 2}, or a '
                       "list with one per layer")
    depth: int | None = setting("model", None, "EQL layers")
    graph: str = setting("model", "complete", "which pairs exchange messages: complete, 'radius R' (pairs closer "
                                              "than R in the data's units, rebuilt for every state) or 'knn K' (each "
                                              "particle's K nearest)")
    antisymmetric: bool | None = setting("model", None, "Newton's third law built into the messages (default: on, "
                                                        "except for mlp edges behind mlp nodes)")
    learn_masses: bool | None = setting("model", None, "learn every particle's mass with the law (default: when "
                                                       "the data carry no masses)")
    learn_charges: bool = setting("model", False, "learn every particle's charge (sign included) with the law, for "
                                                  "charged particles of unknown charge (charges in the data are then "
                                                  "used only to judge); experimental: docs/guide.md, 'Learned masses and charges'")
    # training: how it is trained
    epochs: int | None = setting("training", None, "epochs of the (sparsity) training phase")
    batch_size: int = setting("training", 256, "graphs per batch")
    lr: float | None = setting("training", None, "peak learning rate")
    message_l1: float | None = setting("training", None, "L1 weight on the messages (when there are more "
                                                         "messages than dimensions)")
    weight_penalty: float | None = setting("training", None, "weight of the EQL's sparsity penalty")
    penalty: str | None = setting("training", None, "EQL weight sparsity", choices=PENALTY_NAMES)
    loss: str | None = setting("training", None, "net-force error: relative (every particle counts alike) behind "
                                                 "newtonian nodes, huber behind mlp nodes, or log", choices=FORCE_LOSS_NAMES)
    objective: str = setting("training", "auto", "what the net-force error compares: accelerations (stored or "
                                                 "estimated from positions), weak (weak-form targets from positions "
                                                 "and times, never differentiated), or auto: weak for positions-only "
                                                 "data whose estimated accelerations are noisy", choices=OBJECTIVES)
    prune_thresholds: list[float] | None = setting("training", None, "comma-separated thresholds of the pruning "
                                                                     "rounds, rising")
    # readout: how the law is read from the trained model
    refit: bool = setting("readout", True, "refit the read-out's terms by least squares (messages that are forces)")
    reference_particle: str | None = setting("readout", None, "learned masses: the particle (name or index, of "
                                                              "the first system) whose mass is 1 (default: the "
                                                              "heaviest by momentum conservation)",
                                             metavar="NAME|INDEX")
    # run: where and how often
    seed: int = setting("run", 0, "random seed of the simulation, the split and the initialisation")
    restarts: int = setting("run", 1, "initialisations trained side by side; the law with the smallest held-out "
                                      "error (the shortest of the equally good) is reported, all are listed")
    restart: int = setting("run", 0, "which initialisation this run is (model weights and batch order)")
    device: str = setting("run", "auto", "where training runs: auto (a CUDA GPU where one is visible, else the "
                                         "CPU), cpu or cuda")
    out: str = setting("run", "runs/discover", "run directory to create")
    progress: bool = setting("run", True, "progress bars", flag="--quiet")

    def __post_init__(self):
        get_recipe(self.recipe)
        _check_choice("edge model", self.edge_model, EDGE_MODELS)
        mlp_variant(self.variant)
        for name, value, options in (("node model", self.node_model, NODE_MODELS),
                                     ("EQL form", self.eql_form, EQL_FORMS),
                                     ("sparsity penalty", self.penalty, PENALTY_NAMES)):
            if value is not None:
                _check_choice(name, value, options)
        if self.loss is not None:
            check_force_loss(self.loss)
        _check_choice("objective", self.objective, OBJECTIVES)
        if self.law is not None and self.potential is not None:
            raise UserInputError("give a law name or a potential, not both")
        if self.dim not in (2, 3):
            raise UserInputError(f"dim = {self.dim}: only 2-D and 3-D systems are supported")
        if self.n < 2:
            raise UserInputError(f"n = {self.n}: a pair force needs at least 2 particles")
        if (self.epochs is not None and self.epochs < 1) or self.batch_size < 1 or self.max_graphs < 1:
            raise UserInputError("epochs, batch size and max graphs must be positive")
        if self.spread <= 0 or (self.cutoff is not None and self.cutoff <= 0):
            raise UserInputError("spread and cutoff must be positive")
        read_graph(self.graph)
        if self.softening is not None and self.softening < 0:
            raise UserInputError(f"softening = {self.softening}: it must be >= 0")
        check_device_name(self.device)  # resolved where training starts: a GPU run's config reruns on a CPU
        if self.restarts < 1 or self.restart < 0:
            raise UserInputError("restarts must be at least 1")

    @property
    def message_size(self) -> int:
        """d for EQL edges behind Newtonian nodes and for the bottleneck; otherwise `messages`
        (behind Newtonian nodes the force is then a learned linear map of them)."""
        if self.edge_model == "mlp":
            return self.dim if mlp_variant(self.variant).bottleneck else self.messages
        return self.dim if self.node_model == "newtonian" or self.eql_form in CENTRAL_FORMS else self.messages

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

    def sections(self) -> dict[str, dict]:
        """The settings by section, in declaration order: the body of config.json."""
        values = asdict(self)
        grouped: dict[str, dict] = {name: {} for name in SECTIONS}
        for f in fields(self):
            grouped[f.metadata["section"]][f.name] = values[f.name]
        return grouped

    def to_json(self) -> str:
        return json.dumps({"format": CONFIG_FORMAT, **self.sections()}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "DiscoverConfig":
        """The config a run directory's config.json (or a file written by hand) holds; unknown
        sections, unknown keys, keys in the wrong section and another format are errors."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserInputError(f"the config is not valid JSON: {error}") from None
        if not isinstance(values, dict):
            raise UserInputError("a config file holds one JSON object of settings")
        stated = values.pop("format", CONFIG_FORMAT)
        if stated == FLAT_CONFIG_FORMAT:
            return cls(**_known(values, {f.name for f in fields(cls)}, "config"))
        if stated != CONFIG_FORMAT:
            raise UserInputError(f"config format {stated!r} is not {CONFIG_FORMAT!r}")
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise UserInputError(f"unknown config section(s) {', '.join(_with_sections(unknown))}; the sections "
                                 f"are {', '.join(SECTIONS)}")
        settings = {}
        for section, body in values.items():
            if not isinstance(body, dict):
                raise UserInputError(f"config section {section!r} must be a JSON object of settings")
            settings.update(_known(body, set(section_fields(section)), f"{section} section"))
        return cls(**settings)


def section_fields(section: str) -> list[str]:
    """The field names of one section, in declaration order."""
    return [f.name for f in fields(DiscoverConfig) if f.metadata["section"] == section]


def _known(values: dict, known: set[str], where: str) -> dict:
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserInputError(f"unknown key(s) in the {where}: {', '.join(_with_sections(unknown))}; "
                             f"known: {', '.join(sorted(known))}")
    return values


def _with_sections(keys: list[str]) -> list[str]:
    """Each key, with the section it belongs in where it is a setting."""
    home = {f.name: f.metadata["section"] for f in fields(DiscoverConfig)}
    return [f"{key} (belongs in the {home[key]} section)" if key in home else key for key in keys]


def _check_choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise UserInputError(f"unknown {name} {value!r}; choose one of {', '.join(options)}")


#: A recipe's epochs are meant for this many optimiser steps per epoch (the default simulated job's:
#: 16,000 training graphs in batches of 256): on fewer, a run trains for more epochs, at most
#: MAX_EPOCH_STRETCH times as many, so that the optimiser's steps, not its passes over the data,
#: stay about the same. Training graphs are the training share of the stored states
#: (SPLIT_FRACTIONS), at most `max_graphs`; counted in steps, a smaller batch needs less stretch.
STEP_BUDGET_STEPS = 16000 / 256
MAX_EPOCH_STRETCH = 4


def stretched_epochs(epochs: int, states: int, max_graphs: int, batch_size: int) -> int:
    """`epochs` for a data set of `states` stored states trained in batches of `batch_size` graphs
    (see STEP_BUDGET_STEPS); unchanged when the number of states is not known."""
    from eqlearn.physics.dataset import SPLIT_FRACTIONS  # here: the data's module loads numpy and scipy

    graphs = min(SPLIT_FRACTIONS[0] * states, max_graphs)
    if graphs <= 0:
        return epochs
    steps = graphs / batch_size
    return int(math.ceil(epochs * min(MAX_EPOCH_STRETCH, max(1.0, STEP_BUDGET_STEPS / steps))))


def resolve_config(config: DiscoverConfig, spec: DataSpec) -> DiscoverConfig:
    """The config with every open setting filled from its recipe and the data; nothing else.

    Pure: the same config and data description always give the same resolved config, and the
    law being looked for is not an input.
    """
    if config.learn_charges:  # the user says the particles carry charges, whether or not the data hold them
        spec = replace(spec, charges=True, charge_values=False)
    recipe = get_recipe(config.recipe)
    chosen = {name: getattr(config, name) for name in RECIPE_FIELDS}
    defaults = {name: getattr(recipe, name) for name in RECIPE_FIELDS}
    defaults.update(features=recipe.features(spec), prune_thresholds=list(recipe.prune_thresholds),
                    epochs=stretched_epochs(recipe.epochs, spec.states, config.max_graphs,
                                           config.batch_size))
    filled = {name: defaults[name] if value is None else value for name, value in chosen.items()}
    if filled["units"] is None and filled["eql_form"] == "free":
        from eqlearn.gnn.edge_models import default_edge_units  # here: the edge models load torch

        filled["units"] = default_edge_units(filled["features"])
    if config.edge_model == "mlp":
        filled["eql_form"] = "free"
    softening = spec.softening if config.softening is None else config.softening
    resolved = replace(config, n=spec.n, dim=spec.dim, softening=softening, **filled)
    if resolved.antisymmetric is None:  # on, except in Cranmer et al.'s set-up (mlp edges and nodes)
        resolved.antisymmetric = resolved.edge_model == "eql" or resolved.node_model == "newtonian"
    if resolved.loss is None:
        # the seed's MLP node model diverged at lr 1e-2 with the relative loss and did not learn at 1e-3
        resolved.loss = "relative" if resolved.node_model == "newtonian" else "huber"
    resolved.objective = choose_objective(config.objective, spec)
    if resolved.learn_masses is None:
        resolved.learn_masses = not spec.masses
    if not resolved.learn_masses and not spec.masses:
        raise UserInputError("the data carry no masses, so they must be learned: leave out --no-learn-masses")
    return resolved


def choose_objective(objective: str, spec: DataSpec) -> str:
    """accelerations or weak: `objective` resolved from the data (auto: weak where the accelerations
    were estimated from positions with a relative error above WEAK_FORM_ABOVE; stored accelerations
    are always used as they are)."""
    if objective == "weak" and not spec.times:
        raise UserInputError("the weak-form objective needs the times of the states; the data carry none")
    if objective != "auto":
        return objective
    noisy = spec.acceleration_error is not None and spec.acceleration_error > WEAK_FORM_ABOVE
    return "weak" if noisy and spec.times else "accelerations"


def parse_setting(name: str, text: str, where: str | None = None):
    """The value of field `name` written as text (a CLI flag, `--set name=value`), read with the
    field's type: numbers, true/false, comma-separated or JSON lists, JSON objects, none. `where`
    names the input in the error (default: `name = text`)."""
    types = typing.get_type_hints(DiscoverConfig)
    if name not in types:
        raise UserInputError(f"{name!r} is not a discover setting")
    annotation = types[name]
    union = typing.get_origin(annotation) in (typing.Union, type(int | None))
    options = [t for t in (typing.get_args(annotation) if union else (annotation,)) if t is not NoneType]
    if union and NoneType in typing.get_args(annotation) and text.strip().lower() in ("none", "null"):
        return None
    for option in options:
        try:
            return _parse_as(text.strip(), option)
        except (ValueError, TypeError):
            continue
    where = where or f"{name} = {text!r}"
    raise UserInputError(f"{where}: not a valid {' or '.join(_type_name(t) for t in options)}")


def _parse_as(text: str, kind):
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if text.lower() not in words:
            raise ValueError(text)
        return words[text.lower()]
    if kind in (int, float, str):
        return kind(text)
    if origin is list:
        items = json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(items, list):
            raise ValueError(text)
        return [_parse_as(json.dumps(item) if isinstance(item, (dict, list)) else str(item), args[0]) for item in items]
    if origin is dict:
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError(text)
        return {str(k): _parse_as(str(v), args[1]) for k, v in value.items()}
    raise TypeError(kind)


def _type_name(kind) -> str:
    return getattr(kind, "__name__", None) if typing.get_origin(kind) is None else str(kind)
