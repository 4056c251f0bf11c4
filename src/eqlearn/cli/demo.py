"""`eqlearn demo NAME`: a worked example of an EQL inside a deep-learning model."""
from __future__ import annotations

import argparse

from eqlearn.demos import DEMOS


def add(commands) -> None:
    command = commands.add_parser("demo", help="run a worked example: an EQL inside a deep-learning model",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="demos:\n" + "\n".join(f"  {name:13s} {d.summary}" for name, d in DEMOS.items()))
    command.add_argument("name", choices=list(DEMOS), help="which demo")
    command.add_argument("--out", required=True, help="folder for metrics.json, plots and the formula")
    command.add_argument("--seed", type=int, help="random seed (default: the demo's)")
    command.add_argument("--epochs", type=int, help="training epochs per model (default: the demo's)")
    command.add_argument("--mnist-dir", help="digits only: a folder with the four MNIST IDX files")
    command.set_defaults(run=run)


def run(args) -> int:
    from eqlearn.demos import run_demo

    _, summary = run_demo(args.name, args.out, seed=args.seed, epochs=args.epochs, mnist_dir=args.mnist_dir)
    print("\n".join(summary))
    print(f"written to {args.out}")
    return 0
