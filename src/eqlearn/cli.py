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
