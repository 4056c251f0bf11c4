"""Command-line entry point: parse flags, call the library, print. No science happens here.

Each sub-command is registered by a `_add_<name>` function that declares its flags and the
function that runs it; a `UserInputError` from the library becomes one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import sys

from eqlearn.errors import UserInputError


def build_parser() -> argparse.ArgumentParser:
    from eqlearn.version import __version__

    parser = argparse.ArgumentParser(prog="eqlearn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"eqlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(commands)
    return parser


_COMMANDS: list = []


def _add_regress(commands) -> None:
    command = commands.add_parser("regress", help="fit a formula to a CSV table with an EQL network")
    command.add_argument("data", help="CSV file with a header row")
    command.add_argument("--target", required=True, help="the column to predict")
    command.add_argument("--features", help="comma-separated input columns (default: all others)")
    command.add_argument("--out", default="formula.json", help="JSON file to write (default: formula.json)")
    command.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    command.add_argument("--epochs", help="three counts FIT,SPARSIFY,FINE_TUNE (default: the regressor's)")
    command.add_argument("--restarts", type=int, help="random restarts trained side by side (default: the regressor's)")
    command.add_argument("--device", default="auto", help="where training runs: auto, cpu or cuda (default: auto)")
    command.set_defaults(run=_run_regress)


def _run_regress(args) -> int:
    from eqlearn.regress import equations_table, parse_epochs, regress_table, write_record

    settings = {"random_state": args.seed, "device": args.device}
    if args.epochs:
        settings["epochs"] = parse_epochs(args.epochs)
    if args.restarts is not None:
        settings["restarts"] = args.restarts
    features = [name.strip() for name in args.features.split(",")] if args.features else None
    record = regress_table(args.data, args.target, features, **settings)
    write_record(record, args.out)
    print(equations_table(record))
    print(f"{args.target} = {record['expression']}")
    print(f"R^2 = {record['r2']:.6f}; written to {args.out}")
    return 0


_COMMANDS.append(_add_regress)


def _add_simulate(commands) -> None:
    command = commands.add_parser("simulate", help="simulate n-body systems and save a data set")
    law = command.add_mutually_exclusive_group(required=True)
    law.add_argument("--law", help="spring, r1, r2, charge, damped or discontinuous")
    law.add_argument("--potential", metavar="EXPR",
                     help='a pair potential in r, m1, m2, q1, q2, e.g. "(r - 1)**2"')
    command.add_argument("--n", type=int, default=4, help="particles per system (default: 4)")
    command.add_argument("--dim", type=int, default=2, help="2 or 3 dimensions (default: 2)")
    command.add_argument("--sims", type=int, default=1000, help="systems (default: 1000)")
    command.add_argument("--steps", type=int, default=500, help="stored states per system (default: 500)")
    command.add_argument("--dt", type=float, help="time between stored states (default: the law's)")
    command.add_argument("--spread", type=float, default=1.0,
                         help="standard deviation of the initial positions (default: 1; e.g. 8 keeps n = 256 in 2-D "
                              "at the density of n = 4)")
    command.add_argument("--cutoff", type=float, help="pairs farther apart than this do not interact (a truncated, "
                                                      "short-range potential; default: none)")
    command.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    command.add_argument("--out", required=True, help=".npz file to write")
    command.add_argument("--plot", metavar="PNG", help="also draw a few systems to this PNG")
    command.add_argument("--positions-only", action="store_true",
                         help="write what an instrument records: float64 positions, times, masses and charges; "
                              "no velocities or accelerations (a run estimates them)")
    command.add_argument("--noise", type=float, default=0.0, metavar="SIGMA",
                         help="with --positions-only: Gaussian noise of standard deviation SIGMA on every coordinate")
    command.add_argument("--no-masses", dest="masses", action="store_false",
                         help="with --positions-only: withhold the masses too")
    command.set_defaults(run=_run_simulate)


def _run_simulate(args) -> int:
    import time

    from eqlearn.physics import complete_derivatives, get_potential, save_dataset, simulate, simulate_positions
    from eqlearn.physics.plot import plot_trajectories
    from eqlearn.vocabulary.files import check_output_path

    if not args.positions_only and (args.noise or not args.masses):
        raise UserInputError("--noise and --no-masses apply only with --positions-only")
    potential = get_potential(args.law, args.potential)
    for path in filter(None, [args.out, args.plot]):
        check_output_path(path)
    start = time.perf_counter()
    if args.positions_only:
        trajectories = simulate_positions(potential, args.n, args.dim, args.sims, args.steps, args.dt, args.seed,
                                          args.noise, args.masses, progress=True, spread=args.spread,
                                          cutoff=args.cutoff)
    else:
        trajectories = simulate(potential, args.n, args.dim, args.sims, args.steps, args.dt,
                                args.seed, progress=True, spread=args.spread, cutoff=args.cutoff)
    save_dataset(args.out, trajectories)
    print(f"{args.sims} systems x {args.steps} states ({potential.name}: {potential.expression},"
          f" n={args.n}, d={args.dim}) in {time.perf_counter() - start:.1f} s; written to {args.out}")
    if args.positions_only:
        print(_describe_derivatives(complete_derivatives(trajectories).meta["derivatives"]))
    if args.plot:
        plot_trajectories(trajectories, args.plot)
        print(f"plot written to {args.plot}")
    return 0


_COMMANDS.append(_add_simulate)


def _describe_derivatives(estimate: dict) -> str:
    return (f"accelerations estimated from the positions: ~{estimate['relative_acceleration_error']:.1e} relative error"
            f" ({estimate['method']}, window {estimate['window']}, degree {estimate['polyorder']},"
            f" position noise ~{estimate['position_noise']:.1e})")


def _add_data(commands) -> None:
    command = commands.add_parser("data", help="write a built-in data set of real observations")
    sources = command.add_subparsers(dest="source", required=True)
    solar = sources.add_parser("solar-system", help="Sun, planets and Moon from JPL's DE421 ephemeris (needs eqlearn[astro])")
    solar.add_argument("--start", default="1980-01-01", help="first day, YYYY-MM-DD (default: 1980-01-01)")
    solar.add_argument("--years", type=float, default=30.0, help="span in Julian years (default: 30)")
    solar.add_argument("--step-days", type=float, default=1.0, help="days between positions (default: 1)")
    solar.add_argument("--bodies", help="comma-separated subset of Sun,Mercury,Venus,Earth,Moon,Mars,Jupiter,"
                                        "Saturn,Uranus,Neptune (default: all)")
    solar.add_argument("--out", required=True, help=".npz file to write")
    command.set_defaults(run=_run_data)


def _run_data(args) -> int:
    from eqlearn.physics import complete_derivatives, save_dataset
    from eqlearn.physics.ephemeris import solar_system
    from eqlearn.vocabulary.files import check_output_path

    check_output_path(args.out)
    bodies = [name.strip() for name in args.bodies.split(",")] if args.bodies else None
    trajectories = solar_system(args.start, args.years, args.step_days, bodies)
    save_dataset(args.out, trajectories)
    steps = trajectories.positions.shape[1]
    print(f"{', '.join(trajectories.names)}: {steps} positions every {args.step_days:g} days from {args.start}"
          f" (au, barycentric; no masses); written to {args.out}")
    print(_describe_derivatives(complete_derivatives(trajectories).meta["derivatives"]))
    return 0


_COMMANDS.append(_add_data)


def _add_demo(commands) -> None:
    from eqlearn.demos import DEMOS

    command = commands.add_parser("demo", help="run a worked example: an EQL inside a deep-learning model")
    command.add_argument("name", choices=list(DEMOS), help="which demo")
    command.add_argument("--out", required=True, help="folder for metrics.json, plots and the formula")
    command.add_argument("--seed", type=int, help="random seed (default: the demo's)")
    command.add_argument("--epochs", type=int, help="training epochs per model (default: the demo's)")
    command.add_argument("--mnist-dir", help="digits only: a folder with the four MNIST IDX files")
    command.set_defaults(run=_run_demo)


def _run_demo(args) -> int:
    from eqlearn.demos import run_demo

    _, summary = run_demo(args.name, args.out, seed=args.seed, epochs=args.epochs, mnist_dir=args.mnist_dir)
    print("\n".join(summary))
    print(f"written to {args.out}")
    return 0


_COMMANDS.append(_add_demo)


def _attach_expression_values(argv: list[str]) -> list[str]:
    """`--potential "-m1*m2/r"` as typed: argparse would read a value starting with '-' as a flag."""
    joined, args = [], iter(argv)
    for arg in args:
        if arg == "--potential":
            value = next(args, None)
            joined.append(arg if value is None else f"--potential={value}")
        else:
            joined.append(arg)
    return joined


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The parsed command line, with expression values such as `--potential "-m1*m2/r"` kept whole."""
    return build_parser().parse_args(_attach_expression_values(list(argv)))


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args) or 0)
    except UserInputError as error:
        print(f"eqlearn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _add_discover(commands) -> None:
    from eqlearn.discovery.recipes import RECIPES

    command = commands.add_parser("discover", help="learn a pairwise force law with a GNN whose messages are an EQL",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="recipes:\n" + "\n".join(f"  {r.name:11s} {r.summary}" for r in RECIPES.values()))
    _add_config_flags(command)
    command.add_argument("--engine", choices=["ray", "process"],
                         help="where restarts run: local Ray where installed, else a process pool")
    command.add_argument("--workers", type=int, help="restarts at a time (default: the CPUs here)")
    command.add_argument("--config", metavar="FILE", help="a run's config.json (or one written by hand): rerun it with "
                                                          "its own settings into --out; flags given as well override "
                                                          "the file's settings (a resolved file keeps its recipe's "
                                                          "filled-in choices, such as the features)")
    command.set_defaults(run=_run_discover)


def _add_config_flags(command, names: tuple[str, ...] | None = None, **options) -> None:
    """One flag per `DiscoverConfig` field (or per field in `names`), grouped by the field's section,
    generated from the field declarations in `eqlearn.discovery.config`: help, choices and value parsing come
    from there, so every setting is reachable and the dataclass stays the one source of defaults.
    Every flag defaults to None ("not given"); `options` adds argparse options for a field."""
    from dataclasses import MISSING, fields

    from eqlearn.discovery.config import RECIPE_FIELDS, SECTIONS, DiscoverConfig
    from eqlearn.discovery.recipes import RECIPES

    groups = {section: command.add_argument_group(f"{section} settings") for section in SECTIONS}
    for f in fields(DiscoverConfig):
        if names is not None and f.name not in names:
            continue
        group, meta = groups[f.metadata["section"]], f.metadata
        default = f.default if f.default is not MISSING else f.default_factory()
        shown = "the recipe's" if f.name in RECIPE_FIELDS and default is None else default
        text = meta["help"] + ("" if shown is None else f" (default: {shown})")
        if meta.get("flag") == "--quiet":
            group.add_argument("--quiet", dest=f.name, action="store_false", default=None, help="no progress bars")
        elif f.type in ("bool", "bool | None"):
            group.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            choices = list(RECIPES) if meta.get("choices") == "recipes" else meta.get("choices")
            group.add_argument(_flag(f.name), dest=f.name, default=None, type=_setting_parser(f.name), help=text,
                               choices=choices, metavar=meta.get("metavar"), **options.get(f.name, {}))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _setting_parser(name: str):
    """argparse's `type` for a config field: the field's own parsing, its errors as usage errors."""
    from eqlearn.discovery.config import parse_setting

    def parse(text: str):
        try:
            return parse_setting(name, text, where=_flag(name) + " " + text)
        except UserInputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _given_settings(args, **settings) -> dict:
    """The config fields given on the command line (flags left out are None), plus `settings`."""
    from dataclasses import fields

    from eqlearn.discovery.config import DiscoverConfig

    given = {f.name: getattr(args, f.name) for f in fields(DiscoverConfig) if getattr(args, f.name, None) is not None}
    return {**given, **settings}


def _discover_config(args):
    """The DiscoverConfig of the flags, or of `--config FILE` with the flags given as well on top
    (written to --out, or the default run directory, never back into the file's own run)."""
    from dataclasses import replace
    from pathlib import Path

    from eqlearn.discovery.config import DiscoverConfig

    given = _given_settings(args)
    if not args.config:
        return DiscoverConfig(**given)
    path = Path(args.config)
    if not path.is_file():
        raise UserInputError(f"no config file at {path}")
    defaults = {"out": DiscoverConfig.out, "progress": DiscoverConfig.progress}  # where and how this run shows itself
    return replace(DiscoverConfig.from_json(path.read_text()), **{**defaults, **given})


def _run_discover(args) -> int:
    from eqlearn.discovery.portfolio import run_discovery
    from eqlearn.discovery.report import describe_discovery
    from eqlearn.eql.training import TrainingDiverged

    config = _discover_config(args)
    try:
        discovery = run_discovery(config, log=lambda text: print(text, file=sys.stderr), engine=args.engine,
                                  workers=args.workers)
    except TrainingDiverged as error:
        print(f"eqlearn discover: training diverged: {error}", file=sys.stderr)
        return 1
    print(describe_discovery(discovery))
    return 0


_COMMANDS.append(_add_discover)


#: The settings `compare` takes: the systems and the training budget, shared by both pipelines.
COMPARE_SETTINGS = ("law", "potential", "n", "dim", "sims", "steps", "epochs", "batch_size", "loss", "variant",
                    "progress")


def _add_compare(commands) -> None:
    from eqlearn.discovery.config import NODE_MODELS

    command = commands.add_parser("compare", help="GNN+EQL against the MLP-GNN + symbolic regression baseline, same data")
    _add_config_flags(command, COMPARE_SETTINGS, variant={"nargs": "+"})
    command.add_argument("--baseline-nodes", default="newtonian", choices=list(NODE_MODELS),
                         help="the baseline's node model: newtonian (default, the GNN+EQL's own) or mlp (Cranmer et al.)")
    command.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds, one data set each (default: 0)")
    command.add_argument("--out", required=True, help="directory to create for the data, both runs and the table")
    command.set_defaults(run=_run_compare)


def _run_compare(args) -> int:
    from eqlearn.compare import compare_pipelines
    from eqlearn.discovery.config import DiscoverConfig
    from eqlearn.eql.training import TrainingDiverged

    variants = args.variant or [DiscoverConfig.variant]
    base = DiscoverConfig(**{k: v for k, v in _given_settings(args).items() if k not in ("variant", "out")})
    try:
        comparison = compare_pipelines(base, args.seeds, variants, args.out,
                                       log=lambda text: print(text, file=sys.stderr), baseline_nodes=args.baseline_nodes)
    except TrainingDiverged as error:
        print(f"eqlearn compare: training diverged: {error}", file=sys.stderr)
        return 1
    print(comparison.to_markdown())
    print(f"written to {args.out}/comparison.md and comparison.json")
    return 0


_COMMANDS.append(_add_compare)


def _add_sweep(commands) -> None:
    from eqlearn.discovery.config import DiscoverConfig
    from eqlearn.discovery.data import DEFAULT_LAW
    from eqlearn.discovery.recipes import DEFAULT_RECIPE, RECIPES
    from eqlearn.engines import ENGINES

    command = commands.add_parser("sweep", help="a grid of discovery runs on Ray or a process pool, resumable, "
                                                "one results table")
    command.add_argument("--laws", nargs="+", default=[], metavar="LAW",
                         help=f"built-in laws to simulate (default: {DEFAULT_LAW} when no --potential or --data)")
    command.add_argument("--potential", action="append", default=[], metavar="EXPR",
                         help="a pair potential to simulate; repeat the flag for several")
    command.add_argument("--data", nargs="+", default=[], metavar="FILE", help=".npz data files (n and dim from each file)")
    command.add_argument("--n", nargs="+", type=int, default=[DiscoverConfig.n], help="particles per simulated system")
    command.add_argument("--dim", nargs="+", type=int, default=[DiscoverConfig.dim], help="2 and/or 3, simulated systems")
    command.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds (default: 0)")
    command.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=[DEFAULT_RECIPE],
                         help=f"recipes (default: {DEFAULT_RECIPE})")
    command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                         help="any other discover setting, e.g. --set epochs=10; repeat a key for several values")
    command.add_argument("--engine", choices=ENGINES,
                         help="ray (default where eqlearn[ray] is installed: a local instance, or --address) or process")
    command.add_argument("--workers", type=int, help="runs side by side, one CPU thread each (default: the CPUs here)")
    command.add_argument("--device", help="where every run trains: auto, cpu or cuda (the same as --set device=...)")
    command.add_argument("--address", metavar="HOST:PORT", help="a running Ray cluster to use (ray start --head)")
    command.add_argument("--out", required=True, help="the sweep's folder: results.csv, results.md, runs/")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_run_sweep)


def _run_sweep(args) -> int:
    from eqlearn.discovery.data import DEFAULT_LAW
    from eqlearn.sweep import expand_grid, parse_settings, run_sweep

    laws = args.laws or ([] if args.potential or args.data else [DEFAULT_LAW])
    settings = args.settings + ([f"device={args.device}"] if args.device else [])
    runs = expand_grid(laws, args.potential, args.data, args.n, args.dim, args.seeds, args.recipes,
                       parse_settings(settings))
    sweep = run_sweep(runs, args.out, engine=args.engine, workers=args.workers, address=args.address,
                      progress=not args.quiet, log=lambda text: print(text, file=sys.stderr))
    print(sweep.markdown_path.read_text(), end="")
    print(f"{sweep.ran} runs done, {sweep.skipped} already finished; written to {sweep.csv_path} and {sweep.markdown_path}")
    return 0


_COMMANDS.append(_add_sweep)


if __name__ == "__main__":
    sys.exit(main())
