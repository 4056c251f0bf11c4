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
