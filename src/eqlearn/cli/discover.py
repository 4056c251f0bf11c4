"""`eqlearn discover`: a force law from particle data, one flag per `DiscoverConfig` setting."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from eqlearn.cli.settings import add_config_flags, given_settings
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.recipes import RECIPES
from eqlearn.discovery.rundir import refuse_nonempty
from eqlearn.engines import ENGINES
from eqlearn.errors import UserInputError


def add(commands) -> None:
    command = commands.add_parser("discover", help="learn a pairwise force law with a GNN whose messages are an EQL",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="recipes:\n" + "\n".join(f"  {r.name:11s} {r.summary}" for r in RECIPES.values()))
    add_config_flags(command)
    command.add_argument("--engine", choices=ENGINES,
                         help="where restarts run: local Ray where installed, else a process pool")
    command.add_argument("--workers", type=int, help="restarts at a time (default: the CPUs here)")
    command.add_argument("--config", metavar="FILE", help="a run's config.json (or one written by hand): rerun it with "
                                                          "its own settings into --out; flags given as well override "
                                                          "the file's settings (a resolved file keeps its recipe's "
                                                          "filled-in choices, such as the features)")
    command.set_defaults(run=run)


def discover_config(args) -> DiscoverConfig:
    """The DiscoverConfig of the flags, or of `--config FILE` with the flags given as well on top
    (written to --out, or the default run directory, never back into the file's own run)."""
    given = given_settings(args)
    if not args.config:
        return DiscoverConfig(**given)
    path = Path(args.config)
    if not path.is_file():
        raise UserInputError(f"no config file at {path}")
    defaults = {"out": DiscoverConfig.out, "progress": DiscoverConfig.progress}  # where and how this run shows itself
    return replace(DiscoverConfig.from_json(path.read_text()), **{**defaults, **given})


def run(args) -> int:
    config = discover_config(args)  # every setting checked before the library (and torch) loads
    refuse_nonempty(Path(config.out))

    from eqlearn.discovery.portfolio import run_discovery
    from eqlearn.discovery.report import describe_discovery
    from eqlearn.eql.training import TrainingDiverged

    try:
        discovery = run_discovery(config, log=lambda text: print(text, file=sys.stderr), engine=args.engine,
                                  workers=args.workers)
    except TrainingDiverged as error:
        print(f"eqlearn discover: training diverged: {error}", file=sys.stderr)
        return 1
    print(describe_discovery(discovery))
    return 0
