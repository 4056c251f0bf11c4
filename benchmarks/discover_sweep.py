"""GNN+EQL discovery over laws, system sizes and seeds, with the package defaults.

Each finished run appends one JSON line to the results file; runs already there are skipped, so
the table can be built up over several sessions. `--table` rewrites the markdown summary.
(`results/discover_huber_loss.jsonl` holds the runs of the earlier recipe: Huber loss, no refit.)

    python benchmarks/discover_sweep.py --laws spring,r1,r2 --systems 4x2 --seeds 0-4
    python benchmarks/discover_sweep.py --laws spring,r1 --systems 8x2,4x3 --seeds 0-1
    python benchmarks/discover_sweep.py --node-model mlp --laws spring --seeds 0-4
    python benchmarks/discover_sweep.py --table
"""
from __future__ import annotations

import argparse
import shutil
import time
from collections import defaultdict
from pathlib import Path

from results_log import append_rows, done_keys, parse_seeds, read_rows

from eqlearn.discover import DiscoverConfig, run_discovery

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "discover.jsonl"
TABLE = HERE / "results" / "discover.md"
RUNS = HERE / "out"


def run_key(law, n, dim, seed, edge, node) -> str:
    return f"{law}-n{n}-d{dim}-s{seed}-{edge}-{node}"


def run_one(law, n, dim, seed, edge, node, epochs) -> dict:
    key = run_key(law, n, dim, seed, edge, node)
    out = RUNS / key
    shutil.rmtree(out, ignore_errors=True)
    RUNS.mkdir(parents=True, exist_ok=True)
    config = DiscoverConfig(law=law, n=n, dim=dim, seed=seed, edge_model=edge, node_model=node, epochs=epochs,
                            out=str(out), progress=False)
    start = time.perf_counter()
    discovery = run_discovery(config, log=lambda _: None)
    wall = time.perf_counter() - start
    v = discovery.verification
    return {"key": key, "law": law, "n": n, "dim": dim, "seed": seed, "edge_model": edge, "node_model": node,
            "epochs": config.epochs, "passed": v["passed"], "form": v["form"], "r2": v["r2"],
            "unrotated": v["unrotated"], "exact": all(v["exact"]), "nonzero_messages": discovery.nonzero_messages,
            "readout_passed": discovery.readout_verification["passed"],
            "readout_exact": all(discovery.readout_verification["exact"]),
            "canonical": discovery.canonical, "force_law": [m["unit_vector_form"] for m in discovery.messages],
            "wall_seconds": round(wall, 1), "test_mae": discovery.test_loss}


def write_table(rows: list[dict], path: Path) -> str:
    groups = defaultdict(list)
    for row in rows:
        groups[(row["law"], row["n"], row["dim"], row["edge_model"], row["node_model"])].append(row)
    lines = ["| law | n | dim | edge | node | recovered | unrotated (of recovered) | exact | read-out alone: "
             "recovered / exact | nonzero = d | median wall s | example law (u = Δ/|Δ|) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (law, n, dim, edge, node), group in sorted(groups.items()):
        ok = [r for r in group if r["passed"]]
        walls = sorted(r["wall_seconds"] for r in group)
        first = (ok or group)[0]
        example = "; ".join(first.get("force_law") or first["canonical"])
        example = example if len(example) <= 110 else example[:110] + " …"
        lines.append(
            f"| {law} | {n} | {dim} | {edge} | {node} | {len(ok)}/{len(group)} | "
            f"{sum(r['unrotated'] for r in ok)}/{len(ok)} | {sum(r['exact'] for r in group)}/{len(group)} | "
            f"{sum(r.get('readout_passed', False) for r in group)} / {sum(r.get('readout_exact', False) for r in group)} | "
            f"{sum(r['nonzero_messages'] == dim for r in group)}/{len(group)} | {walls[len(walls) // 2]} | "
            f"`{example}` |")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", default="spring,r1,r2")
    parser.add_argument("--systems", default="4x2", help="comma-separated NxDIM, e.g. 4x2,8x2,4x3")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--edge-model", default="eql")
    parser.add_argument("--node-model", default="newtonian")
    parser.add_argument("--epochs", type=int, help="override the per-law default")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only rewrite the markdown table")
    args = parser.parse_args()
    if not args.table:
        done = done_keys(args.results)
        for law in args.laws.split(","):
            for system in args.systems.split(","):
                n, dim = (int(v) for v in system.split("x"))
                for seed in parse_seeds(args.seeds):
                    key = run_key(law, n, dim, seed, args.edge_model, args.node_model)
                    if key in done:
                        continue
                    row = run_one(law, n, dim, seed, args.edge_model, args.node_model, args.epochs)
                    append_rows(args.results, [row])
                    print(f"{key}: passed={row['passed']} nonzero={row['nonzero_messages']} "
                          f"{row['wall_seconds']} s  {row['canonical']}", flush=True)
    rows = read_rows(args.results)
    print(write_table(rows, TABLE if args.results == RESULTS else args.results.with_suffix(".md")))


if __name__ == "__main__":
    main()
