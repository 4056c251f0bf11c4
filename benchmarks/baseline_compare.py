"""GNN+EQL against the MLP-GNN + symbolic regression baseline (`eqlearn compare`), per law and seed.

Each finished (law, seed) appends one JSON line per pipeline to the results file; pairs already
there are skipped, so the table grows over several sessions. `--table` only rewrites the markdown.
The budget is the package defaults (data, epochs) unless overridden; the baseline always gets the
same number of epochs as the GNN+EQL (see `eqlearn.compare`), behind the same Newtonian node model
unless `--baseline-nodes mlp` asks for Cranmer et al.'s learned update. (`results/baseline_mlp_nodes.*`
hold the runs with that node model; `results/baseline_huber_loss.*` those of the earlier recipe:
Huber loss, no refit, MLP nodes.)

    python benchmarks/baseline_compare.py --laws spring --seeds 0-4 --sims 1000
    python benchmarks/baseline_compare.py --laws r1,r2 --seeds 0-2 --sims 1000
    python benchmarks/baseline_compare.py --laws spring --seeds 0-2 --sims 1000 --baseline-nodes mlp \
        --results benchmarks/results/baseline_mlp_nodes.jsonl
    python benchmarks/baseline_compare.py --table
"""
from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from pathlib import Path

import torch

from eqlearn.compare import BUDGET, Comparison, compare_pipelines
from eqlearn.discovery.config import NODE_MODELS, DiscoverConfig
from eqlearn.engines import ENGINES, run_tasks
from results_log import append_rows, done_keys, parse_seeds, read_rows

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "baseline.jsonl"
TABLE = HERE / "results" / "baseline.md"
RUNS = HERE / "out"


def run_key(config: DiscoverConfig, variants: list[str], nodes: str) -> str:
    key = f"{config.law}-n{config.n}-d{config.dim}-s{config.seed}-sims{config.sims}x{config.steps}-{'+'.join(variants)}"
    return key if nodes == "newtonian" else f"{key}-{nodes}-nodes"


def run_one(config: DiscoverConfig, variants: list[str], nodes: str) -> list[dict]:
    key = run_key(config, variants, nodes)
    out = RUNS / f"baseline-{key}"
    shutil.rmtree(out, ignore_errors=True)  # an interrupted earlier attempt
    RUNS.mkdir(parents=True, exist_ok=True)
    comparison = compare_pipelines(config, [config.seed], variants, out, log=lambda _: None, baseline_nodes=nodes)
    return [{"key": key, "law": config.law, "n": config.n, "dim": config.dim, "sims": config.sims,
             "steps": config.steps, "simulate_seconds": comparison.simulate_seconds[config.seed], **row}
            for row in comparison.rows]


def write_table(rows: list[dict], path: Path) -> str:
    """One `Comparison` table per (law, system, data budget), built from the stored rows."""
    groups = defaultdict(list)
    for row in rows:
        groups[(row["law"], row["n"], row["dim"], row["sims"], row["steps"])].append(row)
    parts = [f"Budget: {BUDGET}; one CPU thread per run on a shared 2-core machine.\n"]
    for (law, n, dim, sims, steps), group in sorted(groups.items()):
        group.sort(key=lambda row: (row["seed"], row["pipeline"] != "GNN+EQL", row["pipeline"]))
        simulate = {row["seed"]: row["simulate_seconds"] for row in group}
        text = Comparison(law, n, dim, BUDGET, group, simulate).to_markdown()
        parts.append(text.replace("\n\nBudget:", f"\n\nData: {sims} simulations x {steps} states.\n\nBudget:", 1))
    text = "\n".join(parts)
    path.write_text(text)
    return text


def run_item(item: tuple) -> list[dict]:
    """One comparison on an engine worker: (config, variants, baseline nodes, torch threads)."""
    config, variants, nodes, threads = item
    torch.set_num_threads(threads)
    return run_one(config, variants, nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", default="spring,r1,r2")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--variants", default="l1,bottleneck", help="baseline variants, comma-separated")
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--sims", type=int, help="override the package default")
    parser.add_argument("--baseline-nodes", default="newtonian", choices=list(NODE_MODELS))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a loaded machine more threads are much slower)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only rewrite the markdown table")
    parser.add_argument("--engine", choices=ENGINES, help="ray (default where installed) or process")
    parser.add_argument("--workers", type=int, default=1, help="comparisons side by side (default: 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = args.variants.split(",")
    if not args.table:
        done = done_keys(args.results)
        data = {"sims": args.sims} if args.sims else {}
        configs = [DiscoverConfig(law=law, n=args.n, dim=args.dim, seed=seed, progress=False, **data)
                   for law in args.laws.split(",") for seed in parse_seeds(args.seeds)]
        items = [(config, variants, args.baseline_nodes, args.threads) for config in configs
                 if run_key(config, variants, args.baseline_nodes) not in done]

        def record(_, rows: list[dict]) -> None:  # as each comparison finishes
            append_rows(args.results, rows)
            for row in rows:
                print(f"{row['key']} {row['pipeline']}: recovered={row['recovered']} "
                      f"train {row['seconds']['train']} s {row['canonical']}", flush=True)

        run_tasks(run_item, items, engine=args.engine, workers=args.workers, on_result=record, progress=False)
    rows = read_rows(args.results)
    print(write_table(rows, TABLE if args.results == RESULTS else args.results.with_suffix(".md")))


if __name__ == "__main__":
    main()
