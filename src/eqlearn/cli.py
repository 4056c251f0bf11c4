"""Command-line entry point: parse flags, call the library, print. No science happens here.

Each sub-command is registered by a `_add_<name>` function that declares its flags and the
function that runs it; a `UserInputError` from the library becomes one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import sys

from eqlearn.errors import UserInputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eqlearn", description=__doc__.splitlines()[0])
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
    command.set_defaults(run=_run_regress)


def _run_regress(args) -> int:
    from eqlearn.regress import parse_epochs, regress_table, write_record

    settings = {"random_state": args.seed}
    if args.epochs:
        settings["epochs"] = parse_epochs(args.epochs)
    if args.restarts is not None:
        settings["restarts"] = args.restarts
    features = [name.strip() for name in args.features.split(",")] if args.features else None
    record = regress_table(args.data, args.target, features, **settings)
    write_record(record, args.out)
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
    command.set_defaults(run=_run_simulate)


def _run_simulate(args) -> int:
    import time

    from eqlearn.physics import get_potential, save_dataset, simulate
    from eqlearn.physics.dataset import check_output_path
    from eqlearn.physics.plot import plot_trajectories

    potential = get_potential(args.law, args.potential)
    for path in filter(None, [args.out, args.plot]):
        check_output_path(path)
    start = time.perf_counter()
    trajectories = simulate(potential, args.n, args.dim, args.sims, args.steps, args.dt,
                            args.seed, progress=True)
    save_dataset(args.out, trajectories)
    print(f"{args.sims} systems x {args.steps} states ({potential.name}: {potential.expression},"
          f" n={args.n}, d={args.dim}) in {time.perf_counter() - start:.1f} s; written to {args.out}")
    if args.plot:
        plot_trajectories(trajectories, args.plot)
        print(f"plot written to {args.plot}")
    return 0


_COMMANDS.append(_add_simulate)


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserInputError as error:
        print(f"eqlearn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
