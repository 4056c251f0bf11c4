"""`eqlearn discover`: a force law from particle data, one flag per `DiscoverConfig` setting."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from eqlearn.cli.settings import add_config_flags, given_settings
from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.recipes import RECIPES
from eqlearn.discovery.rundir import read_config_file, refuse_nonempty
from eqlearn.engines import ENGINES
from eqlearn.errors import UserInputError


def add(commands) -> None:
    command = commands.add_parser("discover", help="learn a pairwise force law with a GNN whose messages are an EQL",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="recipes:\n" + "\n".join(f"  {r.name:11s} {r.summary}" for r in RECIPES.values()))
    add_config_flags(command)
    command.add_argument("--engine", choices=ENGINES,
                         help="where restarts run: local Ray where installed, else a process pool")
    command.add_argument("--workers", type=int, help="candidate models (portfolio members, restarts) trained at a "
                                                     "time (default: the CPUs here)")
    command.add_argument("--resume", action="store_true", help="continue the run stopped midway in --out with its own "
                                                               "settings (finished candidates are kept, one stopped "
                                                               "while training continues from its last checkpoint)")
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
    defaults = {"out": DiscoverConfig.out, "progress": DiscoverConfig.progress}  # where and how this run shows itself
    return replace(read_config_file(Path(args.config)), **{**defaults, **given})


def resumed_directory(args) -> str:
    """--resume takes the run directory and nothing else: the run continues with its own settings."""
    given = sorted(set(given_settings(args)) - {"out", "progress"}) + (["config"] if args.config else [])
    if given or args.out is None:
        raise UserInputError(f"--resume continues a run with its own settings: give --out DIR only ({', '.join(given)})")
    return args.out


def run(args) -> int:
    if args.resume:
        out, config = resumed_directory(args), None
    else:
        config = discover_config(args)  # every setting checked before the library (and torch) loads
        refuse_nonempty(Path(config.out))

    from eqlearn.discovery.portfolio import resume_discovery, run_discovery
    from eqlearn.discovery.report import describe_discovery
    from eqlearn.eql.training import TrainingDiverged

    log = lambda text: print(text, file=sys.stderr)  # noqa: E731
    try:
        if config is None:
            discovery = resume_discovery(out, log, args.engine, args.workers, args.progress)
        else:
            discovery = run_discovery(config, log=log, engine=args.engine, workers=args.workers)
    except TrainingDiverged as error:
        print(f"eqlearn discover: training diverged: {error}", file=sys.stderr)
        return 1
    print(describe_discovery(discovery))
    return 0
