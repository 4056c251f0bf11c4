"""Command-line entry point: parse flags, call the library, print. No science happens here.

Each sub-command is registered by a `_add_<name>` function that declares its flags and the
function that runs it; a `UserInputError` from the library becomes one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import sys

from eqlearn.errors import UserInputError


def build_parser() -> argparse.ArgumentParser:
    from eqlearn import __version__

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
    from eqlearn.physics.dataset import check_output_path
    from eqlearn.physics.plot import plot_trajectories

    if not args.positions_only and (args.noise or not args.masses):
        raise UserInputError("--noise and --no-masses apply only with --positions-only")
    potential = get_potential(args.law, args.potential)
    for path in filter(None, [args.out, args.plot]):
        check_output_path(path)
    start = time.perf_counter()
    if args.positions_only:
        trajectories = simulate_positions(potential, args.n, args.dim, args.sims, args.steps, args.dt, args.seed,
                                          args.noise, args.masses, progress=True)
    else:
        trajectories = simulate(potential, args.n, args.dim, args.sims, args.steps, args.dt,
                                args.seed, progress=True)
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
    from eqlearn.physics.dataset import check_output_path
    from eqlearn.physics.ephemeris import solar_system

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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_attach_expression_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        return int(args.run(args) or 0)
    except UserInputError as error:
        print(f"eqlearn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _add_discover(commands) -> None:
    from eqlearn.pipeline import EDGE_MODELS, NODE_MODELS, DiscoverConfig
    from eqlearn.recipes import DEFAULT_RECIPE, RECIPES

    defaults = DiscoverConfig()
    command = commands.add_parser("discover", help="learn a pairwise force law with a GNN whose messages are an EQL",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="recipes:\n" + "\n".join(f"  {r.name:11s} {r.summary}" for r in RECIPES.values()))
    command.add_argument("--data", help="an .npz or long-form .csv data file: positions plus accelerations or times "
                                        "(optionally velocities, masses, charges, names, softening); the law is then "
                                        "found from the data alone, and missing masses are learned")
    _add_run_flags(command, defaults)
    command.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default: 0)")
    command.add_argument("--recipe", default=DEFAULT_RECIPE, choices=list(RECIPES),
                         help=f"how the model is built and trained (default: {DEFAULT_RECIPE}; list below)")
    command.add_argument("--edge-model", default=defaults.edge_model, choices=list(EDGE_MODELS),
                         help="eql (default), or mlp: the baseline of Cranmer et al., read out by symbolic regression")
    command.add_argument("--node-model", choices=list(NODE_MODELS),
                         help="newtonian: a = sum of messages / m; mlp: a learned update, as in Cranmer et al. "
                              "(default: the recipe's)")
    command.add_argument("--features", help="comma-separated edge inputs (e.g. ux,uy,r,log_r,m1,m2) (default: the recipe's)")
    command.add_argument("--messages", type=int, help="message size, except for EQL edges behind newtonian nodes and "
                                                      "the bottleneck (default: the recipe's)")
    command.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's)")
    command.add_argument("--out", default=defaults.out, help=f"run directory to create (default: {defaults.out})")
    command.add_argument("--no-antisymmetric", dest="antisymmetric", action="store_false", default=None,
                         help="do not build Newton's third law into EQL messages")
    command.add_argument("--no-refit", dest="refit", action="store_false", default=defaults.refit,
                         help="report the read-out as printed from the weights, without the least-squares refit of its terms")
    command.add_argument("--learn-masses", action="store_true", default=None,
                         help="learn every particle's mass with the law even if the data carry masses "
                              "(always done when they carry none)")
    command.add_argument("--reference-particle", metavar="NAME|INDEX",
                         help="learned masses: the particle (of the first system) whose mass is 1 "
                              "(default: the heaviest by momentum conservation)")
    command.add_argument("--restarts", type=int, default=1,
                         help="initialisations trained side by side; the law with the smallest held-out error "
                              "(the shortest of the equally good) is reported, all are listed (default: 1)")
    command.add_argument("--engine", choices=["ray", "process"],
                         help="where restarts run: local Ray where installed, else a process pool")
    command.add_argument("--workers", type=int, help="restarts at a time (default: the CPUs here)")
    command.add_argument("--device", default="auto", help="where training runs: auto (a CUDA GPU where one is visible, "
                                                          "else the CPU), cpu or cuda (default: auto)")
    command.add_argument("--config", metavar="FILE", help="a run's config.json (or one written by hand): rerun it with "
                                                          "its own settings into --out; other settings flags are ignored")
    command.set_defaults(run=_run_discover)


def _add_run_flags(command, defaults, variants: str | None = None) -> None:
    """Flags that `discover` and `compare` share: the systems, the training budget, the baseline
    variant (`variants="+"`: one or more)."""
    from eqlearn.gnn.edge_models import MLP_VARIANTS
    from eqlearn.gnn.training import FORCE_LOSSES

    law = command.add_mutually_exclusive_group()
    law.add_argument("--law", help="a built-in law to simulate: spring (the default without --data), r1, r2, charge, "
                                   "damped, discontinuous; with --data only a check of the file")
    law.add_argument("--potential", metavar="EXPR", help='a pair potential in r, m1, m2, q1, q2 to simulate, '
                                                        'e.g. "(r - 1)**2" or "-m1*m2/r"')
    command.add_argument("--n", type=int, default=defaults.n, help=f"particles per simulated system (default: {defaults.n})")
    command.add_argument("--dim", type=int, default=defaults.dim, help=f"2 or 3, simulated systems (default: {defaults.dim})")
    command.add_argument("--sims", type=int, default=defaults.sims, help=f"systems to simulate (default: {defaults.sims})")
    command.add_argument("--steps", type=int, default=defaults.steps, help=f"states per system (default: {defaults.steps})")
    command.add_argument("--epochs", type=int, help="epochs of the (sparsity) training phase (default: the recipe's)")
    command.add_argument("--batch-size", type=int, default=defaults.batch_size)
    command.add_argument("--loss", choices=list(FORCE_LOSSES),
                         help="net-force error to train on (default: relative, every particle counts alike, "
                              "behind newtonian nodes; huber behind mlp nodes)")
    command.add_argument("--variant", default=[defaults.variant] if variants else defaults.variant,
                         choices=list(MLP_VARIANTS), nargs=variants,
                         help=f"mlp edge models: how the messages are made readable (default: {defaults.variant})")
    command.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_config(args, **settings):
    """A DiscoverConfig from the shared flags plus command-specific `settings`."""
    from eqlearn.pipeline import DiscoverConfig

    return DiscoverConfig(
        law=args.law, potential=args.potential, n=args.n, dim=args.dim, sims=args.sims,
        steps=args.steps, epochs=args.epochs, batch_size=args.batch_size, loss=args.loss, progress=not args.quiet,
        **settings,
    )


def _config_file(args):
    """The DiscoverConfig of `--config FILE`, writing to this command's --out."""
    from dataclasses import replace
    from pathlib import Path

    from eqlearn.pipeline import DiscoverConfig

    path = Path(args.config)
    if not path.is_file():
        raise UserInputError(f"no config file at {path}")
    return replace(DiscoverConfig.from_json(path.read_text()), out=args.out, progress=not args.quiet)


def _run_discover(args) -> int:
    from eqlearn.pipeline import run_discovery
    from eqlearn.report import describe_discovery
    from eqlearn.train import TrainingDiverged

    features = [name.strip() for name in args.features.split(",")] if args.features else None
    if args.config:
        config = _config_file(args)
    else:
        config = _run_config(args, variant=args.variant, seed=args.seed, data=args.data, recipe=args.recipe,
                             edge_model=args.edge_model, node_model=args.node_model, features=features,
                             messages=args.messages, lr=args.lr, out=args.out, antisymmetric=args.antisymmetric,
                             refit=args.refit, learn_masses=args.learn_masses, reference_particle=args.reference_particle,
                             restarts=args.restarts, device=args.device)
    try:
        discovery = run_discovery(config, log=lambda text: print(text, file=sys.stderr), engine=args.engine,
                                  workers=args.workers)
    except TrainingDiverged as error:
        print(f"eqlearn discover: training diverged: {error}", file=sys.stderr)
        return 1
    print(describe_discovery(discovery))
    return 0


_COMMANDS.append(_add_discover)


def _add_compare(commands) -> None:
    from eqlearn.pipeline import NODE_MODELS, DiscoverConfig

    command = commands.add_parser("compare", help="GNN+EQL against the MLP-GNN + symbolic regression baseline, same data")
    _add_run_flags(command, DiscoverConfig(), variants="+")
    command.add_argument("--baseline-nodes", default="newtonian", choices=list(NODE_MODELS),
                         help="the baseline's node model: newtonian (default, the GNN+EQL's own) or mlp (Cranmer et al.)")
    command.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds, one data set each (default: 0)")
    command.add_argument("--out", required=True, help="directory to create for the data, both runs and the table")
    command.set_defaults(run=_run_compare)


def _run_compare(args) -> int:
    from eqlearn.compare import compare_pipelines
    from eqlearn.train import TrainingDiverged

    try:
        comparison = compare_pipelines(_run_config(args), args.seeds, args.variant, args.out,
                                       log=lambda text: print(text, file=sys.stderr), baseline_nodes=args.baseline_nodes)
    except TrainingDiverged as error:
        print(f"eqlearn compare: training diverged: {error}", file=sys.stderr)
        return 1
    print(comparison.to_markdown())
    print(f"written to {args.out}/comparison.md and comparison.json")
    return 0


_COMMANDS.append(_add_compare)


def _add_sweep(commands) -> None:
    from eqlearn.engines import ENGINES
    from eqlearn.pipeline import DEFAULT_LAW, DiscoverConfig
    from eqlearn.recipes import DEFAULT_RECIPE, RECIPES

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
    from eqlearn.pipeline import DEFAULT_LAW
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
