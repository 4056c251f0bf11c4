"""One command for a GPU machine: training throughput, CPU–GPU agreement, and the seed's configuration
at a real budget, written as JSON-lines rows and a Markdown table into a folder.

1. *Throughput*: training graphs per second (forward, backward and optimiser step, after warm-up,
   synchronised timing) of the default EQL edge model (`central`) and the baseline's MLP edge model,
   n = 4 and 32 (complete graphs) and 256 (`radius 3`, and complete), on the GPU and on the CPU
   with 2 threads (what this project's machines have).
2. *Agreement*: the same metadata-free data files (spring and r2, n = 4, d = 2, the default size)
   through discovery on the CPU and on the GPU: the printed law, the law and network errors, each
   run's wall time; and one n = 256 `radius 3` run on the GPU, beside its CPU time in
   `benchmarks/results/large_systems.md`.
3. *The seed's configuration at a real budget*: `--recipe seed` for spring, r1 and r2 with more
   training graphs and epochs than 2 cores allow, sized to the minutes left (the rows say exactly
   what ran), beside the 2-core rows in `seed_config.md`.

The whole command keeps to `--minutes` of wall time (default 8): every section measures its cost
and the seed section takes what is left. `--smoke` runs all three at toy sizes on the CPU in well
under a minute (a test runs it). On a machine with torch but without eqlearn installed:

    PYTHONPATH=src python benchmarks/gpu.py --out $OUT
    python benchmarks/gpu.py --smoke --out /tmp/gpu-smoke
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from discover_sweep import commit, potential_of
from eqlearn.discovery.config import DiscoverConfig, resolve_config
from eqlearn.discovery.model import build_model
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.discovery.recipes import DataSpec
from eqlearn.gnn.training import GraphObjective, GraphSet
from eqlearn.physics import save_dataset, simulate
from results_log import append_rows

HERE = Path(__file__).parent

#: Relative difference of the CPU and GPU runs' law and network errors that still counts as agreement
#: (float32 training in another order of operations).
ERROR_TOLERANCE = 0.05


@dataclass(frozen=True)
class Sizes:
    """How big each section runs: the full command, or the smoke test's toy sizes."""

    throughput_cases: tuple  # (edge model, n, graph, batch size)
    warmup_steps: int
    timed_steps: int
    agreement_sims: int
    agreement_epochs: int | None
    agreement_recipe: str  # the default portfolio, or one model at toy sizes
    large_sims: int
    seed_sims: int
    seed_epochs: dict
    agreement_laws: tuple = ("spring", "r2")


FULL = Sizes(
    throughput_cases=(("eql", 4, "complete", 256), ("mlp", 4, "complete", 64), ("eql", 32, "complete", 64),
                      ("mlp", 32, "complete", 16), ("eql", 256, "radius 3", 4), ("eql", 256, "complete", 4),
                      ("mlp", 256, "radius 3", 4)),
    warmup_steps=10, timed_steps=50, agreement_sims=5000, agreement_epochs=None, agreement_recipe="auto", large_sims=200,
    seed_sims=50000, seed_epochs={"spring": 200, "r1": 200, "r2": 1000})
SMOKE = Sizes(
    throughput_cases=(("eql", 4, "complete", 32), ("mlp", 4, "complete", 16), ("eql", 32, "radius 3", 4)),
    warmup_steps=1, timed_steps=2, agreement_sims=60, agreement_epochs=1, agreement_recipe="central", large_sims=0,
    seed_sims=60, seed_epochs={"spring": 1}, agreement_laws=("spring",))  # one law each: the harness, not the science


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_graphs(n: int, count: int, spread: float, device: torch.device, seed: int = 0) -> GraphSet:
    """`count` states of n particles at the default density (positions N(0, spread²)), on `device`."""
    generator = torch.Generator().manual_seed(seed)
    shape = (count, n, 2)
    positions = torch.randn(shape, generator=generator) * spread
    masses = torch.exp(torch.randn(count, n, generator=generator))
    graphs = GraphSet(positions, masses, torch.zeros(count, n), torch.randn(shape, generator=generator),
                      system=torch.arange(count))
    return graphs.to(device)


def throughput(edge_model: str, n: int, graph: str, batch: int, device: torch.device, sizes: Sizes) -> dict:
    """Training graphs per second of one model on `device`: whole batches resident on the device,
    the clock read after a synchronisation, warm-up steps not counted."""
    config = resolve_config(DiscoverConfig(recipe="central", edge_model=edge_model, graph=graph, n=n, device=str(device)),
                            DataSpec(n=n, dim=2))
    torch.manual_seed(0)
    model = build_model(config).to(device)
    objective = GraphObjective(model, config.message_l1_weight, config.weight_penalty or 0.0, config.penalty or "l1",
                               config.loss)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    spread = (n / 4) ** 0.5  # the density of the default four-particle systems
    batches = [random_graphs(n, batch, spread, device, seed=k) for k in range(4)]

    def step(k: int) -> None:
        optimiser.zero_grad(set_to_none=True)
        loss, _ = objective(batches[k % len(batches)], 1.0)
        loss.backward()
        optimiser.step()

    for k in range(sizes.warmup_steps):
        step(k)
    synchronise(device)
    start = time.perf_counter()
    for k in range(sizes.timed_steps):
        step(k)
    synchronise(device)
    seconds = time.perf_counter() - start
    return {"edge_model": edge_model, "n": n, "graph": graph, "batch": batch,
            "graphs_per_second": round(sizes.timed_steps * batch / seconds, 1), "step_ms": round(1000 * seconds / sizes.timed_steps, 3)}


def bare_file(law: str, sims: int, path: Path, seed: int = 0, **simulation) -> Path:
    """A data file of `law` that carries only arrays: what a run learns from, never the law."""
    data = simulate(potential_of(law), simulation.pop("n", 4), 2, sims, simulation.pop("steps", 4), seed=seed,
                    progress=False, **simulation)
    data.charges = None
    save_dataset(path, data, metadata=False)
    return path


def discovery_row(data: Path, out: Path, device: str, **settings) -> dict:
    """One discovery run from a file on `device`: what it printed and how long it took."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    found = run_discovery(DiscoverConfig(data=str(data), out=str(out), device=device, progress=False, **settings),
                          log=lambda _: None)
    verdict = found.truth_free
    return {"device": device, "law": [m.get("unit_vector_form", m["expression"]) for m in found.messages],
            "law_error": verdict.get("law_force_error"), "network_error": verdict["network_force_error"],
            "seconds": round(time.perf_counter() - start, 1)}


def agrees(cpu: dict, gpu: dict) -> bool:
    """The same printed law, and law and network errors within ERROR_TOLERANCE of each other (or
    both at the float-rounding level of an exact law)."""
    close = lambda a, b: a is not None and b is not None and (abs(a - b) <= ERROR_TOLERANCE * max(abs(a), abs(b))
                                                               or max(a, b) < 1e-6)
    return cpu["law"] == gpu["law"] and close(cpu["law_error"], gpu["law_error"]) \
        and close(cpu["network_error"], gpu["network_error"])


def large_system_cpu_seconds() -> float | None:
    """The CPU wall time of the same n = 256 run (law, seed 0) in large_systems.jsonl, newest row."""
    path = HERE / "results" / "large_systems.jsonl"
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("law") == "spring" and r.get("seed") == 0 and "wall_seconds" in r]
    return rows[-1]["wall_seconds"] if rows else None


def markdown(rows: list[dict], gpu: str) -> list[str]:
    lines = [f"# GPU benchmark on {gpu}", "", f"Commit `{rows[0]['commit']}`, torch {rows[0]['torch']}; "
             "`python benchmarks/gpu.py`.", "", "## Throughput (training graphs per second)", "",
             "| edge model | n | graph | batch | device | graphs/s | step ms |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['edge_model']} | {r['n']} | {r['graph']} | {r['batch']} | {r['device_name']} | "
              f"{r['graphs_per_second']:g} | {r['step_ms']:g} |" for r in rows if r["section"] == "throughput"]
    lines += ["", "## CPU–GPU agreement", "", "| law | device | law printed | law error | network error | wall s | agrees |",
              "|---|---|---|---|---|---|---|"]
    number = lambda value: "–" if value is None else f"{value:.3g}"
    for r in (r for r in rows if r["section"] == "agreement"):
        lines.append(f"| {r['law']} | {r['device']} | `{'; '.join(r['printed'])}` | {number(r['law_error'])} | "
                     f"{number(r['network_error'])} | {r['seconds']:g} | {'' if r.get('agrees') is None else r['agrees']} |")
    lines += ["", "## The seed's configuration (`--recipe seed`)", "",
              "| law | device | systems | epochs | law printed | network error | wall s |", "|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "seed"):
        lines.append(f"| {r['law']} | {r['device']} | {r['sims']} | {r['epochs']} | `{'; '.join(r['printed'])}` | "
                     f"{number(r['network_error'])} | {r['seconds']:g} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for gpu.jsonl, gpu.md and the runs")
    parser.add_argument("--smoke", action="store_true", help="toy sizes on the CPU, well under a minute")
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-time budget of the whole command")
    parser.add_argument("--commit", help="the code version to record (default: git's, where git is there)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    left = lambda: args.minutes * 60 - (time.perf_counter() - start)
    sizes = SMOKE if args.smoke else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gpu = torch.device("cuda") if torch.cuda.is_available() and not args.smoke else None
    if gpu is None and not args.smoke:
        print("gpu.py: no CUDA GPU is visible here; run --smoke on a CPU", file=sys.stderr)
        return 2
    cpu = torch.device("cpu")
    torch.set_num_threads(2)
    base = {"commit": args.commit or commit(), "torch": torch.__version__, "smoke": args.smoke}
    rows = []

    def record(row: dict) -> None:
        rows.append({**base, **row})
        append_rows(out / "gpu.jsonl", [rows[-1]])
        print(json.dumps(rows[-1]), flush=True)

    for device in filter(None, (gpu, cpu)):
        for edge_model, n, graph, batch in sizes.throughput_cases:
            record({"section": "throughput", "device_name": device_name(device),
                    **throughput(edge_model, n, graph, batch, device, sizes)})
    devices = ["cpu"] + (["cuda"] if gpu is not None else [])
    for law in sizes.agreement_laws:
        data = bare_file(law, sizes.agreement_sims, out / f"{law}.npz")
        runs = {device: discovery_row(data, out / "runs" / f"{law}-{device}", device, epochs=sizes.agreement_epochs,
                                      recipe=sizes.agreement_recipe)
                for device in devices}
        for device, run in runs.items():
            agreement = agrees(runs["cpu"], run) if device == "cuda" else None
            printed = run.pop("law")
            record({"section": "agreement", "law": law, **run, "printed": printed, "agrees": agreement})
    if gpu is not None and sizes.large_sims:
        data = bare_file("spring", sizes.large_sims, out / "large.npz", n=256, steps=1, spread=8.0, cutoff=3.0)
        run = discovery_row(data, out / "runs" / "large-cuda", "cuda", graph="radius 3", batch_size=4)
        printed = run.pop("law")
        record({"section": "agreement", "law": "spring n=256 radius 3", **run, "printed": printed,
                "cpu_seconds_2_cores": large_system_cpu_seconds()})
    device = "cuda" if gpu is not None else "cpu"
    graphs = int(0.8 * 4 * sizes.seed_sims)  # every training state of the seed data trains (no max_graphs cap)
    laws = list(sizes.seed_epochs)
    for number, law in enumerate(laws):
        epochs = sizes.seed_epochs[law]
        if not args.smoke and number == 0:  # size the seed runs to the time left: one short run measures the rate
            probe = discovery_row(bare_file(law, sizes.seed_sims, out / "seed-probe.npz"), out / "runs" / "seed-probe",
                                  device, recipe="seed", epochs=2, max_graphs=graphs)
            per_epoch = probe["seconds"] / 2
            epochs = max(1, min(epochs, int(left() / max(1, len(laws) - number) / max(per_epoch, 1e-3) * 0.8)))
        data = bare_file(law, sizes.seed_sims, out / f"seed-{law}.npz")
        run = discovery_row(data, out / "runs" / f"seed-{law}", device, recipe="seed", epochs=epochs, max_graphs=graphs)
        printed = run.pop("law")
        record({"section": "seed", "law": law, "sims": sizes.seed_sims, "epochs": epochs, **run, "printed": printed})
    name = device_name(gpu) if gpu is not None else device_name(cpu)
    (out / "gpu.md").write_text("\n".join(markdown(rows, name)) + "\n")
    print(f"written to {out / 'gpu.jsonl'} and {out / 'gpu.md'} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
