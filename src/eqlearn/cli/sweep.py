"""`eqlearn sweep`: a grid of discovery runs on Ray or a process pool, resumable, one results table."""
from __future__ import annotations

import sys

from eqlearn.discovery.config import DEFAULT_LAW, DiscoverConfig
from eqlearn.discovery.recipes import DEFAULT_RECIPE, RECIPES
from eqlearn.engines import ENGINES


def add(commands) -> None:
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
    command.add_argument("--address", metavar="HOST:PORT", help="a running Ray cluster to use: the address of its head node")
    command.add_argument("--out", required=True, help="the sweep's folder: results.csv, results.md, runs/")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=run)


def run(args) -> int:
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
