"""`eqlearn compare`: GNN+EQL against the MLP-GNN + symbolic-regression baseline on the same data."""
from __future__ import annotations

import sys

from eqlearn.cli.settings import add_config_flags, given_settings
from eqlearn.discovery.config import DEFAULT_LAW, NODE_MODELS, DiscoverConfig

#: The settings `compare` takes: the systems and the training budget, shared by both pipelines.
COMPARE_SETTINGS = ("law", "potential", "n", "dim", "sims", "steps", "epochs", "batch_size", "loss", "variant",
                    "progress")
#: Where a setting means less here than in `discover` (compare always simulates its data).
COMPARE_HELP = {"law": f"a built-in law to simulate: {DEFAULT_LAW} (the default), r1, r2, charge, damped, discontinuous",
                "epochs": "epochs of the (sparsity) training phase, for both pipelines",
                "variant": "the baseline's MLP variants, each compared with the same GNN+EQL run"}


def add(commands) -> None:
    command = commands.add_parser("compare", help="GNN+EQL against the MLP-GNN + symbolic regression baseline, same data")
    add_config_flags(command, COMPARE_SETTINGS, helps=COMPARE_HELP, variant={"nargs": "+"})
    command.add_argument("--baseline-nodes", default="newtonian", choices=list(NODE_MODELS),
                         help="the baseline's node model: newtonian (default, the GNN+EQL's own) or mlp (Cranmer et al.)")
    command.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds, one data set each (default: 0)")
    command.add_argument("--out", required=True, help="directory to create for the data, both runs and the table")
    command.set_defaults(run=run)


def run(args) -> int:
    variants = args.variant or [DiscoverConfig.variant]
    base = DiscoverConfig(**{k: v for k, v in given_settings(args).items() if k not in ("variant", "out")})

    from eqlearn.compare import compare_pipelines
    from eqlearn.eql.training import TrainingDiverged

    try:
        comparison = compare_pipelines(base, args.seeds, variants, args.out,
                                       log=lambda text: print(text, file=sys.stderr), baseline_nodes=args.baseline_nodes)
    except TrainingDiverged as error:
        print(f"eqlearn compare: training diverged: {error}", file=sys.stderr)
        return 1
    print(comparison.to_markdown())
    print(f"written to {args.out}/comparison.md and comparison.json")
    return 0
