"""Law-agnostic discovery: the default recipe on metadata-free data files, judged against the truth.

For every law (a built-in name or a potential expression), system size and seed, the benchmark
simulates systems, writes them to a data file that carries only arrays (positions,
accelerations, masses, velocities, charges where the law has them, times, softening: no law, no
potential), and runs `eqlearn discover --data FILE` with the defaults. Only then is the law the
benchmark knows used, to judge the result with the verifier. The runs go through the sweep
engine (`eqlearn.engines.run_tasks`: local Ray where installed, else a process pool; `--workers 1`
by default so each run's wall time is its own, and each run trains its candidate models side by
side on the CPUs it has, one thread each). Each finished run appends
one JSON line to the results file with the commit and the recipe; runs already there (same key,
same commit) are skipped. `--table` rewrites the markdown summary: one table per commit.

    python benchmarks/discover_sweep.py --set issue --systems 4x2 --seeds 0-4
    python benchmarks/discover_sweep.py --set unlisted --systems 4x2 --seeds 0-2 [--recipe screened]
    python benchmarks/discover_sweep.py --set switching --systems 4x2 --seeds 0-4
    python benchmarks/discover_sweep.py --laws spring,r1,r2,charge --systems 8x2,4x3 --seeds 0-1 --workers 2
    python benchmarks/discover_sweep.py --table
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

from eqlearn.discovery.config import DiscoverConfig
from eqlearn.discovery.portfolio import run_discovery
from eqlearn.discovery.recipes import DEFAULT_RECIPE, RECIPES
from eqlearn.engines import ENGINES, available_cpus, run_tasks
from eqlearn.physics import get_potential, save_dataset, simulate
from eqlearn.readout.verify import verify_law
from results_log import append_rows, parse_seeds, read_rows

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "discover.jsonl"
TABLE = HERE / "results" / "discover.md"
RUNS = HERE / "out" / "discover"
#: The laws the issue names: built-in laws and custom potentials.
ISSUE_SET = ["spring", "r1", "r2", "charge", "damped", "discontinuous", "(r - 1.5)**2", "-m1*m2/r**1.5",
             "q1*q2/r - m1*m2/r", "m1*m2*log(r) + (r - 1)**2"]
#: Laws the issue does not name, to check the default beyond its list: screened and exponential
#: (Yukawa, Morse, screened Coulomb), a steeper power, a shifted spring times masses, a log charge law.
UNLISTED_SET = ["m1*m2*exp(-r)/r", "exp(-2*(r - 1)) - 2*exp(1 - r)", "q1*q2*exp(-r)/r", "-m1*m2/r**2",
                "m1*m2*(r - 2)**2", "q1*q2*log(r)"]
#: Laws that switch at a distance (the family of `discontinuous`): a spring that breaks at 2.5 and a
#: Coulomb force cut off at 2 (a comma-separated --laws cannot hold a Piecewise).
SWITCHING_SET = ["discontinuous", "Piecewise(((r - 1)**2, r < 2.5), (2.25, True))", "Piecewise((q1*q2/r, r < 2), (0, True))"]
SETS = {"issue": ISSUE_SET, "unlisted": UNLISTED_SET, "switching": SWITCHING_SET}
SIMS, STEPS = 5000, 4


def commit() -> str:
    """The code version: HEAD's short hash, with +dirty when src/ has uncommitted changes."""
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, cwd=HERE).stdout.strip()
    return (git("rev-parse", "--short", "HEAD") or "unknown") + ("+dirty" if git("status", "--porcelain", "../src") else "")


def potential_of(law: str):
    return get_potential(law) if law.isidentifier() else get_potential(expression=law)


def run_key(law: str, n: int, dim: int, seed: int, recipe: str = DEFAULT_RECIPE) -> str:
    return f"{law}|n{n}|d{dim}|s{seed}" + ("" if recipe == DEFAULT_RECIPE else f"|{recipe}")


def write_bare_file(path: Path, law: str, n: int, dim: int, seed: int) -> None:
    """Simulate and keep only the arrays: the file says nothing about the law."""
    potential = potential_of(law)
    trajectories = simulate(potential, n, dim, SIMS, STEPS, seed=seed)
    if not potential.uses_charge:
        trajectories.charges = None
    save_dataset(path, trajectories, metadata=False)


def run_one(law: str, n: int, dim: int, seed: int, version: str, recipe: str = DEFAULT_RECIPE,
            candidate_workers: int | None = None) -> dict:
    out = RUNS / run_key(law, n, dim, seed, recipe).replace("|", "_").replace("/", "÷").replace(" ", "")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    data = out / "data.npz"
    start = time.perf_counter()
    write_bare_file(data, law, n, dim, seed)
    discovery = run_discovery(DiscoverConfig(data=str(data), seed=seed, recipe=recipe, out=str(out / "run"),
                                             progress=False), log=lambda _: None, workers=candidate_workers)
    wall = time.perf_counter() - start
    potential = potential_of(law)  # the truth, used from here on only to judge
    law_found = [m.get("refitted", m["expression"]) for m in discovery.messages]
    verdict = verify_law(law_found, potential.expression, dim, canonical=discovery.canonical,
                         damping=potential.damping, softening=discovery.config.softening)
    truth_free = discovery.truth_free
    return {"key": run_key(law, n, dim, seed, recipe), "commit": version, "recipe": recipe, "law": law,
            "chosen_recipe": discovery.config.recipe,
            "n": n, "dim": dim, "seed": seed, "passed": verdict.passed, "unrotated": verdict.unrotated,
            "exact": all(verdict.exact), "r2": verdict.r2, "switches": verdict.switches, "law_force_error": truth_free["law_force_error"],
            "network_force_error": truth_free["network_force_error"], "explains_data": truth_free["explains_data"],
            "law_to_network": truth_free.get("law_to_network"),
            "law_found": list(discovery.found["law"].values()), "wall_seconds": round(wall, 1),
            "seconds": discovery.seconds}


def run_item(item: tuple) -> dict:
    """One run of the sweep: (law, n, dim, seed, version, recipe, candidate workers) → its results row."""
    return run_one(*item)


def write_tables(rows: list[dict], path: Path) -> str:
    """One table per code version and recipe, so rows of different commits or recipes never mix;
    the newest first."""
    versions = list(dict.fromkeys((row["commit"], row["recipe"]) for row in rows))[::-1]
    text = "\n".join(table([row for row in rows if (row["commit"], row["recipe"]) == v]) for v in versions)
    path.write_text(text)
    return text


def ratio_interval(row: dict) -> str:
    """ " (ratio 1.15, 1.09–1.21)": the law-to-network error ratio and its 95 % interval, where recorded."""
    ratio = row.get("law_to_network")
    return "" if not ratio else f" (ratio {ratio['ratio']:.3g}, {ratio['interval_95'][0]:.3g}–{ratio['interval_95'][1]:.3g})"


def table(rows: list[dict]) -> str:
    groups = defaultdict(list)
    for row in rows:
        groups[(row["law"], row["n"], row["dim"])].append(row)
    version = rows[0]["commit"] if rows else "-"
    data = rows[0].get("data", f"{SIMS} systems x {STEPS} states; `python benchmarks/discover_sweep.py`") if rows \
        else "-"
    lines = [f"Recipe `{rows[0]['recipe'] if rows else '-'}`, commit `{version}`, metadata-free data files "
             f"({data}).", "",
             "| law | n | d | verifier pass | exact and per-axis | law error ≤ network's (exact runs) | "
             "law / network error, failed runs (ratio, 95 % interval) | median wall s | max wall s | chosen recipe | example law (u = Δ/|Δ|) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (law, n, dim), group in groups.items():
        exact = [r for r in group if r["exact"]]
        failed = [r for r in group if not r["exact"]]
        walls = [r["wall_seconds"] for r in group]
        example = "; ".join((exact or group)[0]["law_found"])
        example = example if len(example) <= 90 else example[:90] + " …"
        fails = ", ".join(f"{r['law_force_error']:.2g} / {r['network_force_error']:.2g}{ratio_interval(r)}"
                          for r in failed) or "-"
        chosen = Counter(r.get("chosen_recipe", r["recipe"]) for r in group)
        chosen = ", ".join(f"{name} {count}" for name, count in chosen.most_common())
        lines.append(
            f"| `{law}` | {n} | {dim} | {sum(r['passed'] for r in group)}/{len(group)} | {len(exact)}/{len(group)} | "
            f"{sum(r['law_force_error'] <= r['network_force_error'] for r in exact)}/{len(exact)} | {fails} | "
            f"{statistics.median(walls):.1f} | {max(walls):.1f} | {chosen} | `{example}` |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", help="comma-separated laws or potentials (default: the issue's set)")
    parser.add_argument("--set", choices=list(SETS), default="issue", help="issue (the laws the issue names), "
                                                                              "unlisted (a family beyond them) or "
                                                                              "switching (laws that switch at a "
                                                                              "distance)")
    parser.add_argument("--systems", default="4x2", help="comma-separated NxDIM, e.g. 4x2,8x2,4x3")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only rewrite the markdown table")
    parser.add_argument("--engine", choices=ENGINES, help="ray (default where installed) or process")
    parser.add_argument("--workers", type=int, default=1, help="runs side by side, one CPU thread each (default: 1)")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE, choices=list(RECIPES),
                        help=f"one named recipe for every law (default: {DEFAULT_RECIPE}; benchmarks run the default)")
    args = parser.parse_args()
    version = commit()
    if not args.table:
        laws = args.laws.split(",") if args.laws else SETS[args.set]
        systems = [tuple(int(v) for v in system.split("x")) for system in args.systems.split(",")]
        done = {row["key"] for row in read_rows(args.results) if row["commit"] == version}
        share = max(1, available_cpus() // args.workers)  # each run's candidates share the CPUs left to it
        items = [(law, n, dim, seed, version, args.recipe, share) for law in laws for n, dim in systems
                 for seed in parse_seeds(args.seeds) if run_key(law, n, dim, seed, args.recipe) not in done]

        def record(_, row: dict) -> None:
            append_rows(args.results, [row])
            print(f"{row['key']}: passed={row['passed']} exact={row['exact']} {row['wall_seconds']} s "
                  f"law/net error {row['law_force_error']:.2g}/{row['network_force_error']:.2g} "
                  f"{row['law_found']}", flush=True)

        run_tasks(run_item, items, engine=args.engine, workers=args.workers, on_result=record, progress=False)
    print(write_tables(read_rows(args.results), TABLE if args.results == RESULTS else args.results.with_suffix(".md")))


if __name__ == "__main__":
    main()
