"""The `eqlearn` command: parse, call the library, print.

One module per command family (`discover`, `compare`, `sweep`, `data`: simulate and data,
`regress`, `demo`), each with `add(commands)`, which declares the command's flags and the function
that runs it. Parsing and every check of the flags load nothing heavy (torch, scipy, sympy,
matplotlib): the choices come from torch-free declarations (`eqlearn.discovery.config`,
`eqlearn.discovery.recipes`, `eqlearn.gnn.catalog`, `eqlearn.demos`), and a command imports the
library where it runs. A `UserInputError` becomes one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import sys

from eqlearn.cli import compare, data, demo, discover, regress, sweep
from eqlearn.errors import UserInputError
from eqlearn.version import __version__

DESCRIPTION = """\
eqlearn finds the force law behind the motion of interacting particles, as a formula: a graph
neural network whose messages are an Equation Learner (EQL) network is trained on the particles'
accelerations, and the law is read from its weights. It also fits formulas to tables."""

FIRST_STEPS = """\
first steps:
  eqlearn discover                        simulated springs in, their law out (into runs/discover)
  eqlearn simulate --law r2 --sims 5000 --steps 4 --out r2.npz
  eqlearn discover --data r2.npz --out runs/r2
                                          gravity-like data, then the law found from the file alone
  eqlearn regress table.csv --target y    a formula for one column of a CSV table

`eqlearn COMMAND -h` lists a command's options."""

#: In the order `eqlearn -h` lists them: the main job first.
COMMANDS = (discover, data, regress, compare, sweep, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eqlearn", description=DESCRIPTION, epilog=FIRST_STEPS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"eqlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    return parser


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
    except KeyboardInterrupt as interrupted:  # a RunInterrupted says what was saved and how to continue
        print(str(interrupted) or "interrupted", file=sys.stderr)
        return 130
