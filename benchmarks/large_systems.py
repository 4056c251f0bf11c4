"""Large systems on neighbour graphs: n = 256 particles in 2-D, short-range laws, `--graph radius 3`.

Discovery: for every law and seed, 200 systems of 256 particles (initial positions N(0, 8²), the
density of the default four-particle systems; one state each, so no trajectory has to be integrated
through the cutoff) under the pair potential truncated at |Δ| = 3, written to a data file that
carries only arrays, then `eqlearn discover --data FILE --graph "radius 3" --batch-size 4` with
the default recipe. The law is used only afterwards, to judge. Runs go through the sweep engine
(`eqlearn.engines.run_tasks`, one worker: each run's wall time is its own); every row records the
commit.

Memory: the tensors one training step (forward and backward of 4 graphs, the default model) keeps
for its backward pass, on complete and radius-3 graphs for n = 64, 128, 256.

    python benchmarks/large_systems.py --seeds 0-2
    python benchmarks/large_systems.py --memory
    python benchmarks/large_systems.py --table
"""
from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import torch

from discover_sweep import commit, potential_of
from eqlearn.discovery.config import DiscoverConfig, resolve_config
from eqlearn.discovery.data import data_spec
from eqlearn.discovery.model import build_model
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.engines import ENGINES, run_tasks
from eqlearn.gnn.training import GraphObjective, GraphSet
from eqlearn.physics import save_dataset, simulate
from eqlearn.readout.verify import verify_law
from results_log import append_rows, parse_seeds, read_rows, write_markdown

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "large_systems.jsonl"
TABLE = HERE / "results" / "large_systems.md"
RUNS = HERE / "out" / "large_systems"
#: Short-range laws: a spring, a screened (truncated) gravity and a spring of another rest length.
LAWS = ["spring", "-m1*m2/r", "(r - 1.5)**2"]
N, DIM, SIMS, STEPS, SPREAD, CUTOFF = 256, 2, 200, 1, 8.0, 3.0
GRAPH, BATCH = f"radius {CUTOFF:g}", 4


def run_one(law: str, seed: int, version: str) -> dict:
    out = RUNS / f"{law}_s{seed}".replace("/", "÷").replace(" ", "").replace("*", "x")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    potential = potential_of(law)
    data = simulate(potential, N, DIM, SIMS, STEPS, seed=seed, spread=SPREAD, cutoff=CUTOFF)
    data.charges = None
    save_dataset(out / "data.npz", data, metadata=False)
    discovery = run_discovery(DiscoverConfig(data=str(out / "data.npz"), graph=GRAPH, batch_size=BATCH, seed=seed,
                                             out=str(out / "run"), progress=False), log=lambda _: None)
    wall = time.perf_counter() - start
    found = [m.get("refitted", m["expression"]) for m in discovery.messages]  # judged from here on
    verdict = verify_law(found, potential.expression, DIM, canonical=discovery.canonical,
                         softening=discovery.config.softening)
    return {"key": f"{law}|s{seed}", "commit": version, "law": law, "seed": seed, "n": N, "dim": DIM, "sims": SIMS,
            "spread": SPREAD, "cutoff": CUTOFF, "graph": GRAPH, "batch_size": BATCH, "recipe": discovery.config.recipe,
            "passed": verdict.passed, "exact": all(verdict.exact),
            "law_force_error": discovery.truth_free["law_force_error"],
            "network_force_error": discovery.truth_free["network_force_error"],
            "law_found": list(discovery.found["law"].values()), "wall_seconds": round(wall, 1),
            "seconds": discovery.seconds, "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run_item(item: tuple) -> dict:
    return run_one(*item)


def training_step_memory(n: int, graph: str) -> dict:
    """The tensors one training step (forward of 4 graphs) keeps for its backward pass, in MB, each
    counted once: the memory that grows with the edges."""
    data = simulate(potential_of("spring"), n, DIM, 4, 1, spread=SPREAD * (n / N) ** 0.5, cutoff=CUTOFF)
    config = resolve_config(DiscoverConfig(graph=graph), data_spec(data))
    model = build_model(config)
    graphs = GraphSet.from_trajectories(data)
    saved: dict[tuple, int] = {}

    def keep(tensor):
        saved[(tensor.data_ptr(), tensor.dtype, tuple(tensor.shape))] = tensor.numel() * tensor.element_size()
        return tensor

    start = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        loss, _ = GraphObjective(model, config.message_l1_weight, config.weight_penalty, config.penalty,
                                 config.loss)(graphs, 1.0)
    loss.backward()
    edges = model.edges.for_positions(graphs.positions)
    existing = int(edges.mask.sum()) // 4 if edges.mask is not None else len(edges.receivers)
    return {"n": n, "graph": graph, "edges_per_graph": existing, "slots_per_graph": edges.senders.shape[-1],
            "saved_for_backward_mb": round(sum(saved.values()) / 2**20, 1),
            "step_seconds": round(time.perf_counter() - start, 3)}


def measure_memory(version: str) -> list[dict]:
    rows = []
    for n in (64, 128, 256):
        for graph in ("complete", GRAPH):
            row = {"key": f"memory|{n}|{graph}", "commit": version, **training_step_memory(n, graph)}
            rows.append(row)
            print(row, flush=True)
    return rows


def write_table(rows: list[dict]) -> str:
    lines = []
    for version in dict.fromkeys(r["commit"] for r in rows):
        runs = [r for r in rows if r["commit"] == version and not r["key"].startswith("memory")]
        memory = [r for r in rows if r["commit"] == version and r["key"].startswith("memory")]
        if runs:
            lines += [f"Commit `{version}`: n = {N}, d = {DIM}, {SIMS} systems of one state, positions N(0, {SPREAD:g}²), "
                      f"potential truncated at |Δ| = {CUTOFF:g}, `--graph \"{GRAPH}\" --batch-size {BATCH}`, default "
                      "recipe; `python benchmarks/large_systems.py`.", "",
                      "| law | seed | verifier pass | exact | law / network error | wall s | peak memory MB | law (u = Δ/|Δ|) |",
                      "|---|---|---|---|---|---|---|---|"]
            lines += [f"| `{r['law']}` | {r['seed']} | {r['passed']} | {r['exact']} | {r['law_force_error']:.2g} / "
                      f"{r['network_force_error']:.2g} | {r['wall_seconds']} | {r['peak_memory_mb']} | "
                      f"`{'; '.join(r['law_found'])[:90]}` |" for r in runs]
            lines.append("")
        if memory:
            lines += [f"Commit `{version}`: one training step (forward and backward, 4 graphs, default model, positions "
                      f"N(0, {SPREAD:g}² · n/{N}): the same density at every n); `python benchmarks/large_systems.py "
                      "--memory`.", "",
                      "| n | graph | edges per graph | edge slots per graph | tensors kept for backward, MB | step s |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {r['n']} | {r['graph']} | {r['edges_per_graph']} | {r['slots_per_graph']} | "
                      f"{r['saved_for_backward_mb']} | {r['step_seconds']} |" for r in memory]
            lines.append("")
    return write_markdown(TABLE, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", help=f"comma-separated laws or potentials (default: {', '.join(LAWS)})")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--memory", action="store_true", help="measure one training step's memory instead")
    parser.add_argument("--table", action="store_true", help="only rewrite the markdown table")
    parser.add_argument("--engine", choices=ENGINES, help="ray (default where installed) or process")
    args = parser.parse_args()
    version = commit()
    if args.memory:
        append_rows(RESULTS, measure_memory(version))
    elif not args.table:
        finished = {(row["key"], row["commit"]) for row in read_rows(RESULTS)}
        items = [(law, seed, version) for law in (args.laws.split(",") if args.laws else LAWS)
                 for seed in parse_seeds(args.seeds) if (f"{law}|s{seed}", version) not in finished]

        def record(_, row: dict) -> None:  # as each run finishes: a killed benchmark keeps what it did
            append_rows(RESULTS, [row])
            print(f"{row['key']}: passed={row['passed']} exact={row['exact']} {row['wall_seconds']} s "
                  f"{row['law_found']}", flush=True)

        run_tasks(run_item, items, engine=args.engine, workers=1, on_result=record, progress=False)
    print(write_table(read_rows(RESULTS)))


if __name__ == "__main__":
    main()
